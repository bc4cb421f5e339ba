package io.pqfl.examples.logreg;

import io.pqfl.trainer.TrainerException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A numeric CSV file as float features and an integer class label per row, read without any library.
 *
 * <p>Two layouts: scikit-learn's, whose first line is {@code n_samples,n_features,class names...} and whose label is
 * the last column ({@code breast_cancer.csv}, {@code wine_data.csv}); and plain CSV with an optional header row
 * (a first row with a cell that is not a number), whose label column is named by header or 1-based position
 * (default: the first column). Cells are numbers without quotes; labels are the class indices {@code 0..K-1}.
 * Anything else is refused with the file and line, so a client never trains on a misread file.
 *
 * @param features one array of {@code featureCount} values per row
 * @param labels the class index of each row
 * @param classes how many classes the model distinguishes
 */
record CsvTable(float[][] features, int[] labels, int classes) {
    /**
     * Reads {@code file}.
     *
     * @param sklearn whether the file is in scikit-learn's layout
     * @param labelColumn the label column by header name or 1-based position; null for the layout's default
     * @param classes the number of classes; 0 to take it from the sklearn header or, in a plain file, the largest label
     */
    static CsvTable read(Path file, boolean sklearn, String labelColumn, int classes) throws TrainerException {
        if (!Files.isRegularFile(file)) {
            throw new TrainerException(file + ": no such file");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TrainerException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        int line = 0;
        int declaredRows = -1;
        int declaredFeatures = -1;
        List<String> header = null;
        // Skip blank lines before the first row.
        while (line < lines.size() && lines.get(line).isBlank()) {
            line++;
        }
        if (line == lines.size()) {
            throw new TrainerException(file + ": the file is empty");
        }
        if (sklearn) {
            String[] first = cells(lines.get(line));
            if (first.length < 2 || !isInteger(first[0]) || !isInteger(first[1])) {
                throw new TrainerException(file + ":" + (line + 1) + ": not scikit-learn's layout (the first line should be "
                        + "n_samples,n_features,class names...), found '" + abbreviate(lines.get(line)) + "'");
            }
            declaredRows = Integer.parseInt(first[0].trim());
            declaredFeatures = Integer.parseInt(first[1].trim());
            if (first.length == 2) {
                throw new TrainerException(file + ":" + (line + 1) + ": the first line names no classes: a regression "
                        + "target, which this trainer (classification) does not learn");
            }
            if (classes == 0) {
                classes = first.length - 2;
            }
            line++;
        }
        // A header row: any cell that is not a number.
        if (line < lines.size()) {
            String[] candidate = cells(lines.get(line));
            for (String c : candidate) {
                if (!isNumber(c)) {
                    header = List.of(candidate);
                    line++;
                    break;
                }
            }
        }
        List<float[]> rows = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int width = -1;
        int label = -1;
        int maxLabel = -1;
        for (; line < lines.size(); line++) {
            String text = lines.get(line);
            if (text.isBlank()) {
                continue;
            }
            String[] c = cells(text);
            String where = file + ":" + (line + 1);
            if (width < 0) {
                width = header != null ? header.size() : c.length;
                if (width < 2) {
                    throw new TrainerException(where + ": a row needs a label and at least one feature, found "
                            + c.length + " column(s)");
                }
                if (declaredFeatures >= 0 && width != declaredFeatures + 1) {
                    throw new TrainerException(where + ": " + width + " columns, but the first line declares "
                            + declaredFeatures + " features and a target");
                }
                label = labelIndex(file, labelColumn, header, width, sklearn);
            }
            if (c.length != width) {
                throw new TrainerException(where + ": " + c.length + " cells, expected " + width);
            }
            float[] x = new float[width - 1];
            for (int j = 0, k = 0; j < width; j++) {
                if (!isNumber(c[j])) {
                    throw new TrainerException(where + ": column " + (j + 1) + " is '" + abbreviate(c[j]) + "', not a number");
                }
                double v = Double.parseDouble(c[j].trim());
                if (j == label) {
                    if (v != Math.rint(v) || v < 0 || v > Integer.MAX_VALUE) {
                        throw new TrainerException(where + ": the label '" + c[j].trim()
                                + "' is not a class index (0, 1, 2, ...)");
                    }
                    labels.add((int) v);
                    maxLabel = Math.max(maxLabel, (int) v);
                } else {
                    x[k++] = (float) v;
                }
            }
            rows.add(x);
        }
        if (rows.isEmpty()) {
            throw new TrainerException(file + ": no data rows");
        }
        if (declaredRows >= 0 && declaredRows != rows.size()) {
            throw new TrainerException(file + ": the first line declares " + declaredRows + " rows, the file has "
                    + rows.size());
        }
        if (classes == 0) {
            classes = Math.max(2, maxLabel + 1);
        }
        if (maxLabel >= classes) {
            throw new TrainerException(file + ": label " + maxLabel + " is outside the " + classes + " classes (0.."
                    + (classes - 1) + "); set the trainer option num-classes");
        }
        return new CsvTable(rows.toArray(float[][]::new), labels.stream().mapToInt(Integer::intValue).toArray(), classes);
    }

    int rows() {
        return labels.length;
    }

    int featureCount() {
        return features[0].length;
    }

    private static int labelIndex(Path file, String labelColumn, List<String> header, int width, boolean sklearn)
            throws TrainerException {
        if (labelColumn == null) {
            return sklearn ? width - 1 : 0;
        }
        String name = labelColumn.trim();
        if (isInteger(name)) {
            int position = Integer.parseInt(name);
            if (position < 1 || position > width) {
                throw new TrainerException(file + ": label column " + position + " is outside the " + width + " columns");
            }
            return position - 1;
        }
        int i = header == null ? -1 : header.stream().map(String::trim).toList().indexOf(name);
        if (i < 0) {
            throw new TrainerException(file + ": no column named '" + name + "'"
                    + (header == null ? " (the file has no header row; give a position, 1 = first)" : "; columns: "
                    + String.join(",", header)));
        }
        return i;
    }

    private static String[] cells(String line) {
        return line.split(",", -1);
    }

    private static boolean isNumber(String s) {
        String t = s.trim();
        if (t.isEmpty()) {
            return false;
        }
        try {
            return Double.isFinite(Double.parseDouble(t));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean isInteger(String s) {
        return s.trim().matches("\\d{1,9}");
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
