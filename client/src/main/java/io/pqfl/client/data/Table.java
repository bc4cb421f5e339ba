package io.pqfl.client.data;

import java.util.List;

/**
 * What a reader found: the examples, the names of their feature columns (tabular data only: the order of
 * {@code examples}' features; empty otherwise) and the class names in index order (empty for regression).
 */
record Table(Examples examples, List<String> featureNames, List<String> classNames) {
    Table {
        featureNames = List.copyOf(featureNames);
        classNames = List.copyOf(classNames);
    }

    Table with(Examples other) {
        return new Table(other, featureNames, classNames);
    }
}
