package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.ModelWeights;

/** FedMedian (Yin et al., 2018): the coordinate-wise median of the updates; robust to a minority of outliers. */
public final class FedMedian implements Strategy {
    @Override
    public String name() {
        return "fedmedian";
    }

    @Override
    public boolean holdsEveryUpdate() {
        return true;
    }

    @Override
    public void checkClients(int minClients) {
        if (minClients < 3) {
            throw new IllegalArgumentException("fedmedian over " + minClients + " updates is their mean: it needs rounds"
                    + " of at least 3 updates to resist an outlier (raise the minimum)");
        }
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        return new WeightsMath.Buffering() {
            @Override
            public ModelWeights finish() {
                return WeightsMath.coordinateWise(global.manifest(), updates, WeightsMath::median);
            }
        };
    }
}
