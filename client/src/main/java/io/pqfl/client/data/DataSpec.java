package io.pqfl.client.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Where a client's examples are and how to read them. {@code format} is {@code auto} (a directory of IDX files
 * is IDX, a {@code .csv} file is CSV), {@code idx} or {@code csv}. For CSV, {@code scale} multiplies every
 * feature (e.g. 1/255 for 0-255 pixels).
 */
public record DataSpec(Path path, String format, float scale) {
    public DataSpec {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        if (!List.of("auto", "idx", "csv").contains(format)) {
            throw new IllegalArgumentException("unknown data format '" + format + "': use auto, idx or csv");
        }
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be a positive number, got " + scale);
        }
    }

    public static DataSpec of(Path path) {
        return new DataSpec(path, "auto", 1f);
    }
}
