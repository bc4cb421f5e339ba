package io.pqfl.coordinator.aggregate;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;

/**
 * A strategy around a sum-based one ({@link CentralDp}, {@link SecureAggregation}): everything but how a round is
 * aggregated is the inner strategy's.
 */
abstract class WrappingStrategy implements Strategy {
    protected final Strategy inner;

    WrappingStrategy(Strategy inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public TrainingConfig configureRound(long round, TrainingConfig base) {
        return inner.configureRound(round, base);
    }

    @Override
    public TrainingConfig configureClient(long round, ClientId client, TrainingConfig base) {
        return inner.configureClient(round, client, base);
    }

    @Override
    public List<ClientId> sample(long round, List<ClientId> eligible, int count, Random random) {
        return inner.sample(round, eligible, count, random);
    }

    @Override
    public void checkClients(int minClients) {
        inner.checkClients(minClients);
    }

    @Override
    public Optional<ModelWeights> state() {
        return inner.state();
    }

    @Override
    public void restore(ModelWeights state) {
        inner.restore(state);
    }
}
