package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Shared arithmetic for strategies: running weighted means and coordinate-wise statistics. */
final class WeightsMath {
    private WeightsMath() {
    }

    /**
     * A weighted mean maintained incrementally: {@code mean += (n / N) * (w - mean)}. Float accumulation in
     * this form stays accurate without a second, double-precision copy of the model. The mean is built on the
     * round's manifest, never on an update's, and the total weight is checked arithmetic.
     */
    static final class RunningMean {
        private final ModelManifest manifest;
        private final Weighting weighting;
        private ModelWeights mean;
        private long totalExamples;
        private int count;

        RunningMean(ModelManifest manifest, Weighting weighting) {
            this.manifest = manifest;
            this.weighting = weighting;
        }

        void add(ModelWeights w, long numExamples) {
            if (numExamples <= 0) {
                throw new IllegalArgumentException("example count must be positive");
            }
            if (!w.manifest().sameTensors(manifest)) {
                throw new IllegalArgumentException("update tensors do not match the round's manifest");
            }
            long examples = weighting.weight(numExamples);
            totalExamples = Math.addExact(totalExamples, examples);
            count++;
            if (mean == null) {
                float[][] values = new float[w.tensorCount()][];
                for (int t = 0; t < values.length; t++) {
                    values[t] = w.tensor(t).clone();
                }
                mean = ModelWeights.of(manifest, values);
                return;
            }
            float share = (float) ((double) examples / totalExamples);
            for (int t = 0; t < mean.tensorCount(); t++) {
                float[] m = mean.tensor(t);
                float[] x = w.tensor(t);
                for (int i = 0; i < m.length; i++) {
                    m[i] += share * (x[i] - m[i]);
                }
            }
        }

        int count() {
            return count;
        }

        ModelWeights result() {
            if (mean == null) {
                throw new IllegalStateException("no updates to aggregate");
            }
            return mean;
        }
    }

    static ModelWeights weightedMean(ModelManifest manifest, List<VerifiedUpdate> updates, Weighting weighting) {
        RunningMean mean = new RunningMean(manifest, weighting);
        for (VerifiedUpdate u : updates) {
            mean.add(u.weights(), u.numExamples());
        }
        return mean.result();
    }

    /** Applies {@code f} to the sorted values of each coordinate across updates. */
    /** Applies {@code f} per coordinate; the result is built on the round's {@code manifest}. */
    static ModelWeights coordinateWise(ModelManifest manifest, List<VerifiedUpdate> updates,
                                       java.util.function.ToDoubleFunction<float[]> f) {
        if (updates.isEmpty()) {
            throw new IllegalStateException("no updates to aggregate");
        }
        ModelWeights out = ModelWeights.zeros(manifest);
        float[] column = new float[updates.size()];
        for (int t = 0; t < out.tensorCount(); t++) {
            float[] o = out.tensor(t);
            for (int i = 0; i < o.length; i++) {
                for (int k = 0; k < column.length; k++) {
                    column[k] = updates.get(k).weights().tensor(t)[i];
                }
                Arrays.sort(column);
                o[i] = (float) f.applyAsDouble(column);
            }
        }
        return out;
    }

    static double median(float[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + (double) sorted[n / 2]) / 2;
    }

    static double squaredDistance(ModelWeights a, ModelWeights b) {
        double sum = 0;
        for (int t = 0; t < a.tensorCount(); t++) {
            float[] x = a.tensor(t);
            float[] y = b.tensor(t);
            for (int i = 0; i < x.length; i++) {
                double d = x[i] - (double) y[i];
                sum += d * d;
            }
        }
        return sum;
    }

    /** A strategy that must see all updates before it can aggregate (median, trimmed mean, Krum). */
    abstract static class Buffering implements RoundAggregator {
        final List<VerifiedUpdate> updates = new ArrayList<>();
        private long held;

        @Override
        public void accept(VerifiedUpdate update) {
            updates.add(update);
            held += update.weights().manifest().totalBytes();
        }

        @Override
        public long heldBytes() {
            return held;
        }

        @Override
        public int count() {
            return updates.size();
        }
    }
}
