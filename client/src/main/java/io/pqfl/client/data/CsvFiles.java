package io.pqfl.client.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a CSV of {@code label,feature1,feature2,...} rows (an optional header row is skipped). Features are
 * taken as they are; pixel data in 0-255 should be given with {@code scale = 1/255}.
 */
public final class CsvFiles {
    private CsvFiles() {
    }

    public static Examples load(Path file, float scale) throws DataException {
        List<float[]> rows = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int width = -1;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] cells = line.split(",");
                if (lineNo == 1 && !cells[0].trim().matches("-?\\d+")) {
                    continue;
                }
                if (width == -1) {
                    width = cells.length - 1;
                    if (width < 1) {
                        throw new DataException(file + " line " + lineNo + ": need a label and at least one feature");
                    }
                } else if (cells.length - 1 != width) {
                    throw new DataException(file + " line " + lineNo + ": " + (cells.length - 1) + " features, expected " + width);
                }
                try {
                    int label = Integer.parseInt(cells[0].trim());
                    if (label < 0) {
                        throw new NumberFormatException();
                    }
                    float[] f = new float[width];
                    for (int i = 0; i < width; i++) {
                        f[i] = Float.parseFloat(cells[i + 1].trim()) * scale;
                    }
                    labels.add(label);
                    rows.add(f);
                } catch (NumberFormatException e) {
                    throw new DataException(file + " line " + lineNo + ": not a number in '" + abbreviate(line) + "'");
                }
            }
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (rows.isEmpty()) {
            throw new DataException(file + ": no data rows");
        }
        float[] features = new float[rows.size() * width];
        int[] l = new int[rows.size()];
        int classes = 0;
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, features, i * width, width);
            l[i] = labels.get(i);
            classes = Math.max(classes, l[i] + 1);
        }
        return new Examples(features, l, width, classes);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
