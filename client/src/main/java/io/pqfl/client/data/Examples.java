package io.pqfl.client.data;

import java.util.Objects;

/**
 * Labelled examples held in memory: {@code features} is row-major, {@code count x featureCount} floats in
 * [0, 1] for images; {@code labels} are class indices.
 */
public record Examples(float[] features, int[] labels, int featureCount, int classes) {
    public Examples {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        if (featureCount <= 0 || features.length != (long) labels.length * featureCount) {
            throw new IllegalArgumentException("features (" + features.length + ") do not match " + labels.length
                    + " labels x " + featureCount + " features");
        }
    }

    public int size() {
        return labels.length;
    }

    /** The examples at the given indices, in that order. */
    public Examples select(int[] indices) {
        float[] f = new float[indices.length * featureCount];
        int[] l = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int src = indices[i];
            if (src < 0 || src >= labels.length) {
                throw new IllegalArgumentException("index " + src + " outside 0.." + (labels.length - 1));
            }
            System.arraycopy(features, src * featureCount, f, i * featureCount, featureCount);
            l[i] = labels[src];
        }
        return new Examples(f, l, featureCount, classes);
    }

    /** Examples {@code from} (inclusive) to {@code to} (exclusive). */
    public Examples range(int from, int to) {
        if (from < 0 || to > size() || from >= to) {
            throw new IllegalArgumentException("bad range " + from + ".." + to + " of " + size() + " examples");
        }
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return select(idx);
    }
}
