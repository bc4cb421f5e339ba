package io.pqfl.client.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a client's examples are and how to read them; {@link Datasets#load(DataSpec)} reads them. Built with
 * {@link #builder(Path)} (or {@link #of(Path)} for every default). docs/DATA.md describes each setting.
 *
 * @param path            an IDX directory, an image-folder directory, or a {@code .csv} / {@code .csv.gz} file
 * @param format          how to read {@code path}; {@link Format#AUTO} decides from what is there
 * @param task            classification or regression; {@code null} decides from the data (CSV: classification;
 *                        sklearn layout: classification when its first line names classes)
 * @param csvScale        multiplies every CSV feature (e.g. 1/255 for 0-255 pixels), before any standardisation
 * @param labelColumn     the CSV column holding the label or target, by header name; {@code null}: the first
 *                        column (the last for the sklearn layout)
 * @param featureColumns  the CSV feature columns by header name, in this order; empty: every other column
 * @param classes         the class names in index order; empty: the labels found, sorted (non-negative integer
 *                        labels are used as they are)
 * @param standardize     standardise every feature: {@code (x - mean) / std}, with the mean and standard deviation
 *                        of this client's own training rows unless {@code standardizeStats} gives them
 * @param standardizeStats a CSV or JSON file of each feature column's mean and std, shared by all clients
 * @param imageHeight     images are resized to this height; 0: the first image's height
 * @param imageWidth      images are resized to this width; 0: the first image's width
 * @param channels        1 (grey) or 3 (RGB) for images; 0: 1 when the first image is grey, else 3
 * @param partition       which of the examples are this client's ({@link Partition}): {@code all}, {@code FROM-TO},
 *                        {@code K/N} or {@code @FILE}
 * @param heldOutFraction the last share of the partition kept for local evaluation, never trained on (and never
 *                        used for standardisation statistics)
 */
public record DataSpec(Path path, Format format, Task task, float csvScale, String labelColumn,
                       List<String> featureColumns, List<String> classes, boolean standardize, Path standardizeStats,
                       int imageHeight, int imageWidth, int channels, String partition, double heldOutFraction) {
    /** The largest image side {@code --image-size} accepts. */
    public static final int MAX_IMAGE_SIDE = 4096;

    /** How the data at {@link #path()} is laid out. */
    public enum Format {
        /** An IDX directory, a directory of class folders, or a CSV file, whichever {@code path} is. */
        AUTO,
        /** {@code train-images-idx3-ubyte[.gz]} and friends (MNIST, Fashion-MNIST). */
        IDX,
        /** A CSV file, comma separated, optionally quoted; a header row names the columns. */
        CSV,
        /**
         * A CSV file as scikit-learn ships its datasets: a first line {@code n_samples,n_features[,class names]}, an
         * optional header row, then rows of features with the target last.
         */
        SKLEARN,
        /** A directory with one sub-folder of images (PNG, JPEG, BMP, GIF) per class. */
        IMAGES;

        public static Format parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown data format '" + name + "': use auto, idx, csv, sklearn or images");
            }
        }
    }

    /** Whether the label is a class or a real-valued target. */
    public enum Task {
        CLASSIFICATION, REGRESSION;

        public static Task parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown task '" + name + "': use classification or regression");
            }
        }
    }

    public DataSpec {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(partition, "partition");
        featureColumns = List.copyOf(featureColumns);
        classes = List.copyOf(classes);
        if (!(csvScale > 0) || !Float.isFinite(csvScale)) {
            throw new IllegalArgumentException("CSV scale must be a positive number, got " + csvScale);
        }
        if (labelColumn != null && featureColumns.contains(labelColumn)) {
            throw new IllegalArgumentException("column '" + labelColumn + "' cannot be both the label and a feature");
        }
        if (featureColumns.stream().distinct().count() != featureColumns.size()) {
            throw new IllegalArgumentException("a feature column is named twice in " + featureColumns);
        }
        if (classes.stream().distinct().count() != classes.size()) {
            throw new IllegalArgumentException("a class is named twice in " + classes);
        }
        if (task == Task.REGRESSION && !classes.isEmpty()) {
            throw new IllegalArgumentException("class names make no sense for a regression task");
        }
        if ((imageHeight == 0) != (imageWidth == 0) || imageHeight < 0 || imageWidth < 0
                || imageHeight > MAX_IMAGE_SIDE || imageWidth > MAX_IMAGE_SIDE) {
            throw new IllegalArgumentException("image size must be HxW with sides 1.." + MAX_IMAGE_SIDE + ", got "
                    + imageHeight + "x" + imageWidth);
        }
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 (grey) or 3 (RGB), got " + channels);
        }
        if (!(heldOutFraction >= 0 && heldOutFraction < 1)) {
            throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + heldOutFraction);
        }
    }

    /** Every default: format auto, the whole file, nothing held out. */
    public static DataSpec of(Path path) {
        return builder(path).build();
    }

    public static Builder builder(Path path) {
        return new Builder(path);
    }

    /** A builder holding this spec's settings. */
    public Builder toBuilder() {
        return new Builder(path).format(format).task(task).csvScale(csvScale).labelColumn(labelColumn)
                .featureColumns(featureColumns).classes(classes).standardize(standardize)
                .standardizeStats(standardizeStats).imageSize(imageHeight, imageWidth).channels(channels)
                .partition(partition).heldOutFraction(heldOutFraction);
    }

    /** The option keys {@link #fromOptions} reads (the DJL trainer's data options). */
    public static final java.util.Set<String> OPTION_KEYS = java.util.Set.of("data", "data-format", "label-column",
            "feature-columns", "classes", "standardize", "standardize-stats", "image-size", "channels", "csv-scale",
            "partition", "eval-fraction");

    /**
     * A spec from string options (a trainer's {@code --trainer-option}s, or the CLI's data options turned into them):
     * {@code data}, {@code data-format}, {@code label-column}, {@code feature-columns} and {@code classes}
     * (comma-separated), {@code standardize} (true/false), {@code standardize-stats}, {@code image-size} (HxW),
     * {@code channels}, {@code csv-scale}, {@code partition}, {@code eval-fraction}; {@code task} is the data's task
     * (classification or regression). Keys not given keep their defaults; {@code defaultPath} is the data when
     * {@code data} is not given.
     *
     * @throws IllegalArgumentException naming the option whose value makes no sense
     */
    public static DataSpec fromOptions(java.util.Map<String, String> o, Path defaultPath, Task task) {
        Builder b = builder(o.containsKey("data") ? Path.of(o.get("data")) : defaultPath).task(task);
        if (o.containsKey("data-format")) {
            b.format(Format.parse(o.get("data-format")));
        }
        b.labelColumn(o.get("label-column"));
        b.featureColumns(list(o.get("feature-columns")));
        b.classes(list(o.get("classes")));
        String standardize = o.getOrDefault("standardize", "false").trim();
        if (!standardize.equals("true") && !standardize.equals("false")) {
            throw new IllegalArgumentException("option standardize must be true or false, got '" + standardize + "'");
        }
        b.standardize(standardize.equals("true"));
        if (o.containsKey("standardize-stats")) {
            b.standardizeStats(Path.of(o.get("standardize-stats")));
        }
        if (o.containsKey("image-size")) {
            int[] hw = parseImageSize(o.get("image-size"), "image size");
            b.imageSize(hw[0], hw[1]);
        }
        b.channels(number(o, "channels", 0).intValue());
        b.csvScale(number(o, "csv-scale", 1).floatValue());
        b.partition(o.getOrDefault("partition", "all"));
        b.heldOutFraction(number(o, "eval-fraction", 0).doubleValue());
        return b.build();
    }

    /** This spec as the options {@link #fromOptions} reads back (defaults left out). */
    public java.util.Map<String, String> toOptions() {
        java.util.Map<String, String> o = new java.util.LinkedHashMap<>();
        o.put("data", path.toString());
        if (format != Format.AUTO) {
            o.put("data-format", format.name().toLowerCase(Locale.ROOT));
        }
        if (labelColumn != null) {
            o.put("label-column", labelColumn);
        }
        if (!featureColumns.isEmpty()) {
            o.put("feature-columns", String.join(",", featureColumns));
        }
        if (!classes.isEmpty()) {
            o.put("classes", String.join(",", classes));
        }
        if (standardize) {
            o.put("standardize", "true");
        }
        if (standardizeStats != null) {
            o.put("standardize-stats", standardizeStats.toString());
        }
        if (imageHeight > 0) {
            o.put("image-size", imageHeight + "x" + imageWidth);
        }
        if (channels != 0) {
            o.put("channels", Integer.toString(channels));
        }
        if (csvScale != 1f) {
            o.put("csv-scale", Float.toString(csvScale));
        }
        if (!partition.equals("all")) {
            o.put("partition", partition);
        }
        if (heldOutFraction != 0) {
            o.put("eval-fraction", Double.toString(heldOutFraction));
        }
        return o;
    }

    /**
     * An {@code HxW} image size ({@code 64x64}) as {height, width}.
     *
     * @throws IllegalArgumentException "{@code name} must be HxW ..." when it is not one
     */
    public static int[] parseImageSize(String value, String name) {
        java.util.regex.Matcher m = IMAGE_SIZE.matcher(value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(name + " must be HxW (e.g. 64x64), got '" + value + "'");
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    private static final java.util.regex.Pattern IMAGE_SIZE = java.util.regex.Pattern.compile("(\\d{1,9})[xX](\\d{1,9})");

    private static List<String> list(String value) {
        return value == null || value.isBlank() ? List.of()
                : java.util.Arrays.stream(value.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
    }

    private static Double number(java.util.Map<String, String> o, String key, double otherwise) {
        String v = o.get(key);
        if (v == null) {
            return otherwise;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + " must be a number, got '" + v + "'");
        }
    }

    /** Whether features are standardised, with own or shared statistics. */
    public boolean standardizes() {
        return standardize || standardizeStats != null;
    }

    /** Settings for a {@link DataSpec}; unset ones keep the defaults of {@link #of(Path)}. */
    public static final class Builder {
        private final Path path;
        private Format format = Format.AUTO;
        private Task task;
        private float csvScale = 1f;
        private String labelColumn;
        private List<String> featureColumns = List.of();
        private List<String> classes = List.of();
        private boolean standardize;
        private Path standardizeStats;
        private int imageHeight;
        private int imageWidth;
        private int channels;
        private String partition = "all";
        private double heldOutFraction;

        private Builder(Path path) {
            this.path = Objects.requireNonNull(path, "path");
        }

        public Builder format(Format format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** {@code null}: decided by the data. */
        public Builder task(Task task) {
            this.task = task;
            return this;
        }

        public Builder csvScale(float csvScale) {
            this.csvScale = csvScale;
            return this;
        }

        public Builder labelColumn(String labelColumn) {
            this.labelColumn = labelColumn;
            return this;
        }

        public Builder featureColumns(List<String> featureColumns) {
            this.featureColumns = Objects.requireNonNull(featureColumns, "featureColumns");
            return this;
        }

        public Builder classes(List<String> classes) {
            this.classes = Objects.requireNonNull(classes, "classes");
            return this;
        }

        public Builder standardize(boolean standardize) {
            this.standardize = standardize;
            return this;
        }

        public Builder standardizeStats(Path standardizeStats) {
            this.standardizeStats = standardizeStats;
            return this;
        }

        /** 0x0: the first image's size. */
        public Builder imageSize(int height, int width) {
            this.imageHeight = height;
            this.imageWidth = width;
            return this;
        }

        /** 0: from the first image. */
        public Builder channels(int channels) {
            this.channels = channels;
            return this;
        }

        public Builder partition(String partition) {
            this.partition = Objects.requireNonNull(partition, "partition");
            return this;
        }

        public Builder heldOutFraction(double heldOutFraction) {
            this.heldOutFraction = heldOutFraction;
            return this;
        }

        public DataSpec build() {
            return new DataSpec(path, format, task, csvScale, labelColumn, featureColumns, classes, standardize,
                    standardizeStats, imageHeight, imageWidth, channels, partition, heldOutFraction);
        }
    }
}
