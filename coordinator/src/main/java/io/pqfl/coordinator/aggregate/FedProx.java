package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.TrainingConfig;

/**
 * FedProx (Li et al., 2020): FedAvg on the server; clients add the proximal term
 * {@code mu/2 * ||w - w_global||^2} to their local loss. {@code mu} travels to clients in the round's
 * training config.
 */
public final class FedProx extends FedAvg {
    private final float mu;

    public FedProx(float mu) {
        this(mu, Weighting.EXAMPLES);
    }

    public FedProx(float mu, Weighting weighting) {
        super(weighting);
        if (!(mu >= 0)) {
            throw new IllegalArgumentException("fedprox mu must be >= 0, got " + mu);
        }
        this.mu = mu;
    }

    @Override
    public String name() {
        return "fedprox";
    }

    @Override
    public TrainingConfig configureRound(long round, TrainingConfig base) {
        return base.withProximalMu(mu);
    }
}
