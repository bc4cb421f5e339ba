package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.ModelWeights;

/**
 * Coordinate-wise trimmed mean (Yin et al., 2018): drop the {@code floor(beta * n)} largest and smallest
 * values of each coordinate and average the rest.
 */
public final class TrimmedMean implements Strategy {
    private final double beta;

    public TrimmedMean(double beta) {
        if (!(beta >= 0 && beta < 0.5)) {
            throw new IllegalArgumentException("trimmed-mean beta must be in [0, 0.5), got " + beta);
        }
        this.beta = beta;
    }

    @Override
    public String name() {
        return "trimmedmean";
    }

    @Override
    public boolean holdsEveryUpdate() {
        return true;
    }

    @Override
    public void checkClients(int minClients) {
        if (Math.floor(beta * minClients) < 1) {
            throw new IllegalArgumentException("trimmedmean with beta=" + beta + " trims nothing from a round of "
                    + minClients + " updates (it drops floor(beta x n) from each end): raise the minimum to at least "
                    + (int) Math.ceil(1 / Math.max(beta, 1e-9)) + " clients, or beta to at least " + 1.0 / minClients);
        }
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        return new WeightsMath.Buffering() {
            @Override
            public ModelWeights finish() {
                int cut = (int) Math.floor(beta * updates.size());
                return WeightsMath.coordinateWise(global.manifest(), updates, sorted -> {
                    double sum = 0;
                    for (int i = cut; i < sorted.length - cut; i++) {
                        sum += sorted[i];
                    }
                    return sum / (sorted.length - 2 * cut);
                });
            }
        };
    }
}
