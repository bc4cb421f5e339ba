package io.pqfl.client.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Per-feature standardisation, {@code (x - mean) / std}, of tabular examples. The statistics are either
 * {@link #fit fitted} on a client's own training rows (population standard deviation, as scikit-learn's
 * {@code StandardScaler}; a constant column keeps std 1) or {@link #read read} from a file that every client shares,
 * so that all clients feed the model the same transformation of the same raw value.
 *
 * <p>The file is JSON, an object keyed by column name: {@code {"alcohol": {"mean": 13.0, "std": 0.81}, ...}}
 * (what pandas writes for {@code df.agg(['mean', 'std']).to_json()}), or CSV with a header naming {@code mean} and
 * {@code std} and the column name first: {@code column,mean,std}. It may hold more columns than are used.
 *
 * @param columns the feature columns, in the order of the examples' features
 * @param mean    each column's mean
 * @param std     each column's standard deviation, positive
 */
public record Standardizer(List<String> columns, float[] mean, float[] std) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Standardizer {
        columns = List.copyOf(columns);
        mean = mean.clone();
        std = std.clone();
        if (mean.length != columns.size() || std.length != columns.size()) {
            throw new IllegalArgumentException(columns.size() + " columns but " + mean.length + " means and " + std.length + " stds");
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || !Float.isFinite(std[i]) || !Float.isFinite(mean[i])) {
                throw new IllegalArgumentException("column '" + columns.get(i) + "': mean " + mean[i] + " and std " + std[i]
                        + " must be finite and std positive");
            }
        }
    }

    /** Statistics of {@code train}'s features (flat rows of {@code columns.size()} values). */
    public static Standardizer fit(List<String> columns, Examples train) {
        Objects.requireNonNull(train, "train");
        int width = columns.size();
        if (train.shape().length != 1 || train.featureCount() != width) {
            throw new IllegalArgumentException("standardisation needs rows of " + width + " features, got shape "
                    + java.util.Arrays.toString(train.shape()));
        }
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training rows to compute standardisation statistics from");
        }
        double[] sum = new double[width];
        float[] f = train.features();
        int n = train.size();
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < width; c++) {
                sum[c] += f[r * width + c];
            }
        }
        double[] squares = new double[width];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < width; c++) {
                double d = f[r * width + c] - sum[c] / n;
                squares[c] += d * d;
            }
        }
        float[] mean = new float[width];
        float[] std = new float[width];
        for (int c = 0; c < width; c++) {
            mean[c] = (float) (sum[c] / n);
            float s = (float) Math.sqrt(squares[c] / n);
            std[c] = s > 0 && Float.isFinite(s) ? s : 1f;
        }
        return new Standardizer(columns, mean, std);
    }

    /** Reads statistics for {@code columns} from a JSON or CSV file (by its name: {@code .json} is JSON). */
    public static Standardizer read(Path file, List<String> columns) throws DataException {
        Map<String, float[]> stats = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")
                ? readJson(file) : readCsv(file);
        float[] mean = new float[columns.size()];
        float[] std = new float[columns.size()];
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            float[] ms = stats.get(columns.get(i));
            if (ms == null) {
                missing.add(columns.get(i));
                continue;
            }
            mean[i] = ms[0];
            std[i] = ms[1];
        }
        if (!missing.isEmpty()) {
            throw new DataException(file + ": no statistics for feature column(s) "
                    + CsvFiles.abbreviate(String.join(", ", missing)) + "; it has " + CsvFiles.abbreviate(String.join(", ", stats.keySet())));
        }
        try {
            return new Standardizer(columns, mean, std);
        } catch (IllegalArgumentException e) {
            throw new DataException(file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, float[]> readJson(Path file) throws DataException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new DataException(file + ": not readable JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new DataException(file + ": expected a JSON object {\"column\": {\"mean\": M, \"std\": S}, ...}");
        }
        Map<String, float[]> stats = new HashMap<>();
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) root::fields) {
            JsonNode m = e.getValue().get("mean");
            JsonNode s = e.getValue().get("std");
            if (m == null || s == null || !m.isNumber() || !s.isNumber()) {
                throw new DataException(file + ": column '" + e.getKey() + "' needs numbers \"mean\" and \"std\"");
            }
            stats.put(e.getKey(), new float[] {m.floatValue(), s.floatValue()});
        }
        return stats;
    }

    private static Map<String, float[]> readCsv(Path file) throws DataException {
        Table t = CsvFiles.read(DataSpec.builder(file).format(DataSpec.Format.CSV).labelColumn(firstColumn(file))
                .featureColumns(List.of("mean", "std")).task(DataSpec.Task.CLASSIFICATION).build(), false);
        Map<String, float[]> stats = new HashMap<>();
        float[] f = t.examples().features();
        int[] labels = t.examples().labels();
        for (int i = 0; i < labels.length; i++) {
            stats.put(t.classNames().get(labels[i]), new float[] {f[2 * i], f[2 * i + 1]});
        }
        return stats;
    }

    /** The header's first cell: the column holding the feature names, whatever it is called (pandas leaves it empty). */
    private static String firstColumn(Path file) throws DataException {
        try (var lines = Files.lines(file)) {
            String header = lines.findFirst().orElseThrow(() -> new IOException("empty file"));
            String first = header.split(",", -1)[0].trim().replace("\"", "");
            return first.isEmpty() ? "1" : first;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Writes the statistics as JSON, in the form {@link #read} reads. */
    public void write(Path file) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        for (int i = 0; i < columns.size(); i++) {
            root.putObject(columns.get(i)).put("mean", mean[i]).put("std", std[i]);
        }
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }

    /** The examples with every feature standardised. */
    public Examples apply(Examples examples) {
        int width = columns.size();
        if (examples.shape().length != 1 || examples.featureCount() != width) {
            throw new IllegalArgumentException("standardisation statistics for " + width + " features, examples of shape "
                    + java.util.Arrays.toString(examples.shape()));
        }
        float[] in = examples.features();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            int c = i % width;
            out[i] = (in[i] - mean[c]) / std[c];
        }
        return new Examples(out, examples.labels(), examples.targets(), examples.shape(), examples.classes());
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Standardizer s && columns.equals(s.columns) && java.util.Arrays.equals(mean, s.mean)
                && java.util.Arrays.equals(std, s.std);
    }

    @Override
    public int hashCode() {
        return Objects.hash(columns, java.util.Arrays.hashCode(mean), java.util.Arrays.hashCode(std));
    }

    @Override
    public String toString() {
        return "Standardizer[" + columns.size() + " columns]";
    }
}
