package io.pqfl.client.data;

import java.nio.file.Files;

/** Reads the examples a {@link DataSpec} names: the one entry point for every data format. */
public final class Datasets {
    private Datasets() {
    }

    /** The training examples (for IDX, the {@code train-*} files). */
    public static Examples load(DataSpec spec) throws DataException {
        return load(spec, true);
    }

    /** For IDX, {@code train} picks the {@code train-*} or {@code t10k-*} files; other formats have one file. */
    public static Examples load(DataSpec spec, boolean train) throws DataException {
        String format = spec.format();
        if (format.equals("auto")) {
            format = Files.isDirectory(spec.path()) ? "idx" : "csv";
        }
        return switch (format) {
            case "idx" -> IdxFiles.load(spec.path(), train);
            case "csv" -> CsvFiles.load(spec.path(), spec.scale());
            default -> throw new DataException("unknown data format '" + format + "'");
        };
    }
}
