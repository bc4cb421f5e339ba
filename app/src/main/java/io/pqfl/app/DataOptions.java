package io.pqfl.app;

import io.pqfl.client.data.DataSpec;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The data options of {@code pqfl client} and {@code pqfl simulate}: what to read and how, as a {@link DataSpec}
 * (docs/DATA.md). The commands add what is theirs (a client's partition and held-out share).
 */
public final class DataOptions {

    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist", paramLabel = "PATH",
            description = "A directory of IDX files (default: ${DEFAULT-VALUE}), a directory with one sub-folder of images "
                    + "per class, or a CSV file (.csv, .csv.gz).")
    Path data;

    @Option(names = "--data-format", defaultValue = "auto", paramLabel = "FORMAT",
            description = "auto, idx, csv, sklearn (scikit-learn's CSV layout: n_samples,n_features,classes first) or "
                    + "images (default: ${DEFAULT-VALUE}: decided by what --data is).")
    String format;

    @Option(names = "--label-column", paramLabel = "NAME",
            description = "CSV column of the label or target, by header name or position (1 = first) "
                    + "(default: the first column; the last for the sklearn layout).")
    String labelColumn;

    @Option(names = "--feature-columns", split = ",", paramLabel = "NAME",
            description = "CSV feature columns by name or position, in this order (default: every column but the label).")
    List<String> featureColumns = List.of();

    @Option(names = "--classes", split = ",", paramLabel = "NAME",
            description = "The class labels (CSV) or folder names (images) in index order, so that every client numbers "
                    + "them the same (default: the labels found, sorted; non-negative integer labels as they are).")
    List<String> classes = List.of();

    @Option(names = "--standardize",
            description = "Standardise CSV features to mean 0 and std 1 with the statistics of this client's own "
                    + "training rows (or of the shared file given by --standardize-stats).")
    boolean standardize;

    @Option(names = "--standardize-stats", paramLabel = "FILE",
            description = "Standardise CSV features with the mean and std per column in FILE (JSON or CSV), shared by "
                    + "all clients.")
    Path standardizeStats;

    @Option(names = "--image-size", paramLabel = "HxW",
            description = "Resize images to H x W pixels (default: the first image's size).")
    String imageSize;

    @Option(names = "--channels", defaultValue = "0", paramLabel = "1|3",
            description = "1 (grey) or 3 (RGB) channels for images (default: as the first image).")
    int channels;

    @Option(names = "--csv-scale", defaultValue = "1", paramLabel = "FACTOR",
            description = "Multiply CSV features by this, before any standardisation (e.g. 0.00392 for 0-255 pixels).")
    float csvScale;

    /**
     * These options as trainer options ({@link DataSpec#toOptions}): every one for the DJL trainer ({@code all}),
     * for another trainer only those given on the command line (the data path only when {@code --data} was).
     */
    public java.util.Map<String, String> toOptions(picocli.CommandLine.ParseResult parsed, boolean all) {
        java.util.Map<String, String> o = spec(null).build().toOptions();
        if (!all && !parsed.hasMatchedOption("--data")) {
            o.remove("data");
        }
        return o;
    }

    /** The path given with {@code --data}. */
    public Path path() {
        return data;
    }

    /** The spec these options describe; a {@link UsageException} (exit 2) for a value that makes no sense. */
    public DataSpec.Builder spec(DataSpec.Task task) {
        try {
            DataSpec.Builder b = DataSpec.builder(data).format(DataSpec.Format.parse(format))
                    .task(task).labelColumn(labelColumn)
                    .featureColumns(featureColumns).classes(classes).standardize(standardize)
                    .standardizeStats(standardizeStats).channels(channels).csvScale(csvScale);
            if (imageSize != null) {
                int[] hw = DataSpec.parseImageSize(imageSize, "--image-size");
                b.imageSize(hw[0], hw[1]);
            }
            b.build(); // checks the values now, naming the option's meaning
            return b;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
