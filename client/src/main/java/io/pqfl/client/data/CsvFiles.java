package io.pqfl.client.data;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads tabular data from CSV ({@code .csv} or gzip-compressed {@code .csv.gz}), with Jackson's CSV parser: comma
 * separated, fields optionally quoted (a quoted field may hold commas and line breaks), spaces around fields
 * trimmed, blank lines skipped. Columns are named by the header row when there is one (the first row is a header
 * when two or more of its cells are not numbers) and otherwise by position, {@code 1} being the first. Every
 * error names the file and the line, and the column where there is one.
 */
final class CsvFiles {
    private static final Logger log = LoggerFactory.getLogger(CsvFiles.class);
    /** More columns than any table a client trains on; refused before a hostile row can fill the memory. */
    static final int MAX_COLUMNS = 100_000;
    /** The most feature values one float array holds. */
    private static final long MAX_VALUES = Integer.MAX_VALUE - 8L;
    private static final CsvMapper MAPPER = CsvMapper.builder().enable(CsvParser.Feature.TRIM_SPACES)
            .enable(CsvParser.Feature.SKIP_EMPTY_LINES).build();

    private CsvFiles() {
    }

    /** Reads {@code spec.path()} as plain CSV, or as scikit-learn's layout when {@code sklearn}. */
    static Table read(DataSpec spec, boolean sklearn) throws DataException {
        Path file = spec.path();
        try (Reader reader = open(file); CsvParser parser = (CsvParser) MAPPER.getFactory().createParser(reader)) {
            return new Reading(spec, file, sklearn, parser).read();
        } catch (StreamReadException e) {
            throw new DataException(file + " line " + e.getLocation().getLineNr() + ": malformed CSV: "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static Reader open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        if (file.getFileName().toString().endsWith(".gz")) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        return new InputStreamReader(in, StandardCharsets.UTF_8);
    }

    /** One row of cells and the line it starts on. */
    private record Row(long line, List<String> cells) {
    }

    /** The state of reading one file. */
    private static final class Reading {
        private final DataSpec spec;
        private final Path file;
        private final boolean sklearn;
        private final CsvParser parser;
        private List<String> names;
        private long headerLine = -1;
        private int label;
        private int[] features;
        private float[] values = new float[1024];
        private int valueCount;
        private float[] targets;
        private int[] rawLabels;
        private int rows;
        /** The classes the file's first line names (sklearn layout). */
        private List<String> declaredClasses = List.of();
        /** The label column's classes (null for a regression target). */
        private ClassNumbering classes;
        private long declaredSamples = -1;
        private List<String> firstLine;

        Reading(DataSpec spec, Path file, boolean sklearn, CsvParser parser) throws DataException {
            this.spec = spec;
            this.file = file;
            this.sklearn = sklearn;
            this.parser = parser;
        }

        Table read() throws IOException, DataException {
            Row first = next();
            firstLine = first == null ? null : first.cells();
            if (first == null) {
                throw new DataException(file + ": empty file: no rows");
            }
            boolean regressionByDefault = false;
            if (sklearn) {
                readDescriptor(first);
                regressionByDefault = declaredClasses.isEmpty();
                first = next();
                if (first == null) {
                    throw new DataException(file + ": no data rows after the first line");
                }
            }
            return readRest(first, spec.task() == null ? regressionByDefault : spec.task() == DataSpec.Task.REGRESSION);
        }

        /** scikit-learn's first line: {@code n_samples,n_features[,class names...]}. */
        private void readDescriptor(Row row) throws DataException {
            List<String> c = row.cells();
            long samples;
            long featureCount;
            try {
                samples = Long.parseLong(c.get(0));
                featureCount = c.size() > 1 ? Long.parseLong(c.get(1)) : -1;
            } catch (NumberFormatException e) {
                featureCount = -1;
                samples = -1;
            }
            if (samples < 0 || featureCount < 1) {
                throw new DataException(file + " line " + row.line() + ": not the scikit-learn layout (a first line of "
                        + "n_samples,n_features[,class names]), got '" + abbreviate(String.join(",", c)) + "'");
            }
            declaredSamples = samples;
            List<String> classNames = new ArrayList<>();
            for (String s : c.subList(2, c.size())) {
                if (!s.isEmpty()) {
                    classNames.add(s);
                }
            }
            declaredClasses = classNames;
        }

        private Table readRest(Row first, boolean regression) throws IOException, DataException {
            int width = first.cells().size();
            if (width < 2) {
                throw new DataException(file + " line " + first.line() + ": one column; need a label and at least one "
                        + "feature (is the file comma separated?)");
            }
            Row data = first;
            if (isHeader(first.cells())) {
                if (!sklearn && first.line() == 1 && looksSklearn(first.cells())) {
                    throw new DataException(file + " line 1: '" + abbreviate(String.join(",", first.cells())) + "' looks like "
                            + "scikit-learn's 'n_samples,n_features,class names' line, not a header: read the file as format "
                            + "sklearn");
                }
                names = first.cells();
                headerLine = first.line();
                checkUniqueNames();
                data = next();
            } else {
                names = new ArrayList<>();
                for (int i = 1; i <= width; i++) {
                    names.add(Integer.toString(i));
                }
            }
            label = spec.labelColumn() == null ? (sklearn ? width - 1 : 0) : column(spec.labelColumn(), "label");
            if (spec.labelColumn() != null) {
                declaredClasses = List.of(); // the classes of line 1 are those of scikit-learn's own target column
            }
            if (spec.featureColumns().isEmpty()) {
                features = new int[width - 1];
                for (int i = 0, j = 0; i < width; i++) {
                    if (i != label) {
                        features[j++] = i;
                    }
                }
            } else {
                features = new int[spec.featureColumns().size()];
                for (int i = 0; i < features.length; i++) {
                    features[i] = column(spec.featureColumns().get(i), "feature");
                    if (features[i] == label) {
                        throw new DataException(file + ": column '" + names.get(label) + "' is the label column; it "
                                + "cannot be a feature too");
                    }
                }
            }
            classes = regression ? null : new ClassNumbering(spec.classes(), declaredClasses);
            targets = regression ? new float[256] : null;
            rawLabels = regression ? null : new int[256];
            if (data == null) {
                throw new DataException(file + ": no data rows" + (headerLine > 0 ? ", only the header on line " + headerLine : ""));
            }
            for (; data != null; data = next()) {
                if (data.cells().size() != width) {
                    throw new DataException(file + " line " + data.line() + ": " + data.cells().size() + " cells, expected "
                            + width + " as " + (headerLine > 0 ? "in the header on line " + headerLine : "on line " + first.line())
                            + hintSklearn(data));
                }
                addRow(data, regression);
            }
            if (declaredSamples >= 0 && declaredSamples != rows) {
                throw new DataException(file + " line 1: says " + declaredSamples + " samples, but the file has " + rows
                        + " data rows (truncated?)");
            }
            List<String> featureNames = new ArrayList<>();
            for (int f : features) {
                featureNames.add(names.get(f));
            }
            float[] x = Arrays.copyOf(values, valueCount);
            if (regression) {
                log.info("{}: {} rows, {} features, regression target '{}'", file, rows, features.length, names.get(label));
                return new Table(Examples.regression(x, Arrays.copyOf(targets, rows), new int[] {features.length}),
                        featureNames, List.of());
            }
            ClassNumbering.Numbered numbered = classes.number();
            if (numbered.note() != null) {
                log.info("{}: {} rows, {} features, label column '{}', {}", file, rows, features.length, names.get(label),
                        numbered.note());
            }
            int[] labels = new int[rows];
            for (int i = 0; i < rows; i++) {
                labels[i] = numbered.index()[rawLabels[i]];
            }
            return new Table(new Examples(x, labels, null, new int[] {features.length}, numbered.classNames().size()),
                    featureNames, numbered.classNames());
        }

        /** The row after the current one, or null at the end of the file. */
        private Row next() throws IOException, DataException {
            while (true) {
                JsonToken t = parser.nextToken();
                if (t == null) {
                    return null;
                }
                if (t != JsonToken.START_ARRAY) {
                    throw new DataException(file + " line " + parser.currentLocation().getLineNr() + ": unexpected CSV token " + t);
                }
                List<String> cells = new ArrayList<>();
                long line = -1;
                while (parser.nextToken() == JsonToken.VALUE_STRING) {
                    if (line < 0) {
                        line = parser.currentTokenLocation().getLineNr();
                    }
                    if (cells.size() == MAX_COLUMNS) {
                        throw new DataException(file + " line " + line + ": more than " + MAX_COLUMNS + " cells in a row");
                    }
                    cells.add(parser.getText());
                }
                if (!cells.isEmpty()) {
                    return new Row(line, cells);
                }
            }
        }

        private boolean isHeader(List<String> cells) {
            int words = 0;
            for (String c : cells) {
                if (!c.isEmpty() && !isNumber(c)) {
                    words++;
                }
            }
            return words >= 2;
        }

        private void checkUniqueNames() throws DataException {
            Map<String, Integer> at = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                Integer before = at.put(names.get(i), i);
                if (before != null) {
                    throw new DataException(file + " line " + headerLine + ": the header names column '" + names.get(i)
                            + "' twice (columns " + (before + 1) + " and " + (i + 1) + ")");
                }
            }
        }

        /** A column by header name, or by position (1 = first) when no header names it. */
        private int column(String name, String role) throws DataException {
            int i = names.indexOf(name);
            if (i >= 0) {
                return i;
            }
            try {
                int position = Integer.parseInt(name.trim());
                if (position >= 1 && position <= names.size()) {
                    return position - 1;
                }
            } catch (NumberFormatException e) {
                // not a position either
            }
            String columns = headerLine > 0 ? "the columns are: " + abbreviate(String.join(", ", names))
                    : "the file has no header row (line 1 holds numbers), so columns are named by position 1.."
                    + names.size();
            throw new DataException(file + ": no " + role + " column '" + name + "'; " + columns);
        }

        private void addRow(Row row, boolean regression) throws DataException {
            if (valueCount + (long) features.length > MAX_VALUES) {
                throw new DataException(file + " line " + row.line() + ": more values than one client can hold in memory ("
                        + MAX_VALUES + "); split the file");
            }
            if (values.length < valueCount + features.length) {
                values = Arrays.copyOf(values, (int) Math.min(MAX_VALUES, Math.max(valueCount + (long) features.length,
                        values.length * 2L)));
            }
            for (int f : features) {
                values[valueCount++] = number(row, f) * spec.csvScale();
            }
            if (regression) {
                if (rows == targets.length) {
                    targets = Arrays.copyOf(targets, rows * 2);
                }
                targets[rows] = number(row, label);
            } else {
                if (rows == rawLabels.length) {
                    rawLabels = Arrays.copyOf(rawLabels, rows * 2);
                }
                rawLabels[rows] = classOf(row);
            }
            rows++;
        }

        private float number(Row row, int column) throws DataException {
            String cell = row.cells().get(column);
            if (cell.isEmpty()) {
                throw new DataException(where(row, column) + ": missing value");
            }
            float v;
            try {
                v = (float) Double.parseDouble(cell);
            } catch (NumberFormatException e) {
                throw new DataException(where(row, column) + ": not a number: '" + abbreviate(cell) + "'");
            }
            if (!Float.isFinite(v)) {
                throw new DataException(where(row, column) + ": not a finite number: '" + abbreviate(cell) + "'");
            }
            return v;
        }

        /** A provisional index for the row's label; {@link ClassNumbering#number} turns it into the class index. */
        private int classOf(Row row) throws DataException {
            String cell = row.cells().get(label);
            if (cell.isEmpty()) {
                throw new DataException(where(row, label) + ": missing label");
            }
            return classes.provisional(cell, () -> where(row, label));
        }

        private String where(Row row, int column) {
            return file + " line " + row.line() + ", column '" + names.get(column) + "'";
        }

        /** A hint when line 1 looks like scikit-learn's {@code n_samples,n_features,...} line. */
        private String hintSklearn(Row row) {
            return !sklearn && rows <= 1 && firstLine != null && looksSklearn(firstLine)
                    && Long.parseLong(firstLine.get(1)) + 1 == row.cells().size()
                    ? " (line 1 looks like scikit-learn's 'n_samples,n_features,class names' line: read the file as "
                    + "format sklearn)" : "";
        }
    }

    /** Whether cells look like scikit-learn's first line: two counts, then names. */
    private static boolean looksSklearn(List<String> cells) {
        return cells.size() >= 2 && cells.get(0).matches("\\d{1,9}") && cells.get(1).matches("\\d{1,9}");
    }

    static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
