package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelWeights;

/**
 * Federated averaging (McMahan et al., 2017): the example-weighted mean of the updates (or, with
 * {@link Weighting#EQUAL}, the plain mean). Each update is
 * folded in as soon as it is verified and then dropped, so memory is one model plus the uploads in flight,
 * not one model per client.
 */
public class FedAvg implements Strategy {
    private final Weighting weighting;

    public FedAvg() {
        this(Weighting.EXAMPLES);
    }

    public FedAvg(Weighting weighting) {
        this.weighting = java.util.Objects.requireNonNull(weighting, "weighting");
    }

    @Override
    public String name() {
        return "fedavg";
    }

    /** How updates are weighted in the mean. */
    public Weighting weighting() {
        return weighting;
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        WeightsMath.RunningMean mean = new WeightsMath.RunningMean(global.manifest(), weighting);
        return new RoundAggregator() {
            @Override
            public void accept(VerifiedUpdate update) {
                mean.add(update.weights(), update.numExamples());
            }

            @Override
            public int count() {
                return mean.count();
            }

            @Override
            public ModelWeights finish() {
                return mean.result();
            }
        };
    }
}
