package io.pqfl.client.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Examples held in memory. {@code features} is row-major, {@code size() x featureCount()} floats; each
 * example's features have the {@code shape} given (e.g. {@code [1, 28, 28]} for a grey 28x28 image,
 * {@code [30]} for a row of a table). A classification dataset has class indices in {@code labels} and
 * {@code targets == null}; a regression dataset has its real-valued targets in {@code targets} (and
 * {@code labels} all zero, {@code classes == 0}).
 */
public record Examples(float[] features, int[] labels, float[] targets, int[] shape, int classes) {
    public Examples {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        shape = Objects.requireNonNull(shape, "shape").clone();
        if (shape.length == 0 || Arrays.stream(shape).anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("example shape must have positive dimensions, got " + Arrays.toString(shape));
        }
        long width = Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b);
        if (features.length != labels.length * width) {
            throw new IllegalArgumentException("features (" + features.length + ") do not match " + labels.length
                    + " examples x " + width + " features (shape " + Arrays.toString(shape) + ")");
        }
        if (targets != null && targets.length != labels.length) {
            throw new IllegalArgumentException(targets.length + " targets for " + labels.length + " examples");
        }
    }

    /** Classification examples whose features are flat vectors of {@code featureCount} values. */
    public Examples(float[] features, int[] labels, int featureCount, int classes) {
        this(features, labels, null, new int[] {featureCount}, classes);
    }

    /** Regression examples: flat feature vectors and real-valued targets. */
    public static Examples regression(float[] features, float[] targets, int[] shape) {
        return new Examples(features, new int[targets.length], targets, shape, 0);
    }

    /** Values per example (the product of the shape). */
    public int featureCount() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** The per-example shape (a copy). */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /**
     * Checks that each example has the shape a model expects, e.g. {@code requireShape(new int[] {1, 28, 28},
     * "model cnn")}.
     *
     * @throws DataException naming {@code what} and both shapes when they differ
     */
    public void requireShape(int[] expected, String what) throws DataException {
        Objects.requireNonNull(expected, "expected");
        if (!Arrays.equals(expected, shape)) {
            long want = Arrays.stream(expected).asLongStream().reduce(1, (a, b) -> a * b);
            throw new DataException(what + " expects examples of shape " + Arrays.toString(expected) + ", but the data's "
                    + "examples have shape " + Arrays.toString(shape)
                    + (want == featureCount() ? " (the same number of values, laid out differently)" : ""));
        }
    }

    public boolean isRegression() {
        return targets != null;
    }

    public int size() {
        return labels.length;
    }

    /** The same examples seen with another per-example shape of the same size (e.g. 784 as 1x28x28). */
    public Examples reshaped(int... newShape) {
        return new Examples(features, labels, targets, newShape, classes);
    }

    /** The examples at the given indices, in that order. */
    public Examples select(int[] indices) {
        int width = featureCount();
        float[] f = new float[indices.length * width];
        int[] l = new int[indices.length];
        float[] t = targets == null ? null : new float[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int src = indices[i];
            if (src < 0 || src >= labels.length) {
                throw new IllegalArgumentException("index " + src + " outside 0.." + (labels.length - 1));
            }
            System.arraycopy(features, src * width, f, i * width, width);
            l[i] = labels[src];
            if (t != null) {
                t[i] = targets[src];
            }
        }
        return new Examples(f, l, t, shape, classes);
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

    @Override
    public boolean equals(Object o) {
        return o instanceof Examples e && classes == e.classes && Arrays.equals(shape, e.shape)
                && Arrays.equals(labels, e.labels) && Arrays.equals(targets, e.targets) && Arrays.equals(features, e.features);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classes, Arrays.hashCode(shape), Arrays.hashCode(labels), Arrays.hashCode(targets),
                Arrays.hashCode(features));
    }

    @Override
    public String toString() {
        return "Examples[" + size() + " x " + Arrays.toString(shape) + (targets != null ? ", regression" : ", " + classes + " classes") + "]";
    }
}
