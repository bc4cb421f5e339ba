package io.pqfl.client.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The class labels of one CSV file's label column and how they are numbered. While the rows are read, each label
 * gets a provisional index ({@link #provisional}); at the end {@link #number} turns those into class indices. Given
 * classes are used as given; classes that scikit-learn's first line names take the labels as indices into them;
 * non-negative integer labels are used as they are (so a client whose file lacks a class still numbers the others as
 * every other client does); any other labels are numbered in sorted order, which the reader logs, because each
 * client numbers only the labels it has.
 */
final class ClassNumbering {
    /** Distinct class labels beyond which a "class" column is taken for a real-valued target read by mistake. */
    static final int MAX_CLASSES = 10_000;

    /**
     * The class index of each provisional index, the class names in index order and, where the reader should log
     * it, how they were numbered (null when the classes were given). A hand-over within one read: the array is not
     * copied.
     */
    record Numbered(int[] index, List<String> classNames, String note) {
    }

    /** The classes given in the spec (empty when none). */
    private final List<String> given;
    /** The classes the file's first line names (sklearn layout, and no label column chosen); empty when none. */
    private final List<String> declared;
    /** Distinct class labels in order of first appearance, each with its provisional index. */
    private final Map<String, Integer> seen = new LinkedHashMap<>();

    ClassNumbering(List<String> given, List<String> declared) {
        this.given = given;
        this.declared = declared;
        if (given.isEmpty() && !declared.isEmpty()) {
            // The sklearn layout's labels are indices into the classes its first line names.
            for (int i = 0; i < declared.size(); i++) {
                seen.put(Integer.toString(i), i);
            }
        }
    }

    /**
     * A provisional index for a row's (non-empty) label {@code cell}; {@link #number} turns it into the class index.
     * {@code where} names the cell in an error.
     */
    int provisional(String cell, Supplier<String> where) throws DataException {
        if (!given.isEmpty()) {
            int i = given.indexOf(cell);
            if (i < 0) {
                throw new DataException(where.get() + ": label '" + CsvFiles.abbreviate(cell) + "' is not one of the "
                        + "classes given: " + CsvFiles.abbreviate(String.join(", ", given)));
            }
            return i;
        }
        Integer known = seen.get(cell);
        if (known != null) {
            return known;
        }
        if (!declared.isEmpty()) {
            throw new DataException(where.get() + ": label '" + CsvFiles.abbreviate(cell) + "' is not a class index 0.."
                    + (declared.size() - 1) + " of the classes line 1 names");
        }
        if (seen.size() == MAX_CLASSES) {
            throw new DataException(where.get() + ": more than " + MAX_CLASSES + " distinct labels; if the "
                    + "label is a real-valued target, read it with task regression");
        }
        seen.put(cell, seen.size());
        return seen.size() - 1;
    }

    /** Provisional index to class index, with the class names in index order; see the class comment. */
    Numbered number() {
        if (!given.isEmpty()) {
            return new Numbered(identity(given.size()), given, null);
        }
        if (!declared.isEmpty()) {
            return new Numbered(identity(declared.size()), declared, "classes " + declared);
        }
        List<String> classNames = new ArrayList<>();
        List<String> labels = new ArrayList<>(seen.keySet());
        int[] index = new int[labels.size()];
        if (labels.stream().allMatch(ClassNumbering::isClassIndex)) {
            int max = 0;
            for (int i = 0; i < labels.size(); i++) {
                index[i] = (int) Double.parseDouble(labels.get(i));
                max = Math.max(max, index[i]);
            }
            for (int i = 0; i <= max; i++) {
                classNames.add(Integer.toString(i));
            }
            return new Numbered(index, classNames, "integer classes 0.." + max);
        }
        List<String> sorted = new ArrayList<>(labels);
        boolean numeric = sorted.stream().allMatch(CsvFiles::isNumber);
        sorted.sort(numeric ? Comparator.comparingDouble(Double::parseDouble) : Comparator.naturalOrder());
        for (int i = 0; i < labels.size(); i++) {
            index[i] = sorted.indexOf(labels.get(i));
        }
        classNames.addAll(sorted);
        StringBuilder mapping = new StringBuilder();
        for (int i = 0; i < sorted.size(); i++) {
            mapping.append(i == 0 ? "" : ", ").append(sorted.get(i)).append(" -> ").append(i);
        }
        return new Numbered(index, classNames, "classes numbered in sorted order: " + mapping
                + " (every client must have the same labels, or give the class list)");
    }

    private static int[] identity(int n) {
        int[] index = new int[n];
        for (int i = 0; i < n; i++) {
            index[i] = i;
        }
        return index;
    }

    private static boolean isClassIndex(String s) {
        try {
            double d = Double.parseDouble(s);
            return d >= 0 && d < MAX_CLASSES && d == Math.rint(d);
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
