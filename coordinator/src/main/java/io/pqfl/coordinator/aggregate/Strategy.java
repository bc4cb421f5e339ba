package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.crypto.ClientId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * An aggregation strategy, in Flower's shape: the round loop lives in the coordinator; a strategy only
 * fills in hooks. {@link #configureRound} decides what clients are asked to do; {@link #begin} starts one
 * round's aggregation, which accepts only verified updates.
 */
public interface Strategy {
    /** The name used in configuration, e.g. {@code fedavg}. */
    String name();

    /** The training configuration sent to clients for {@code round} (Flower's {@code configure_fit}). */
    default TrainingConfig configureRound(long round, TrainingConfig base) {
        return base;
    }

    /**
     * Chooses {@code count} of the {@code eligible} clients for {@code round} (Flower's {@code configure_fit}
     * sampling); the default is a uniform random sample drawn with the coordinator's seeded {@code random}.
     */
    default List<ClientId> sample(long round, List<ClientId> eligible, int count, Random random) {
        List<ClientId> pool = new ArrayList<>(eligible);
        Collections.shuffle(pool, random);
        return List.copyOf(pool.subList(0, Math.min(count, pool.size())));
    }

    /**
     * The training configuration {@code client} is sent in {@code round}: the round's, unless the strategy gives
     * clients different ones. Must depend only on its arguments (a restarted coordinator asks again).
     */
    default TrainingConfig configureClient(long round, ClientId client, TrainingConfig base) {
        return configureRound(round, base);
    }

    /** Starts aggregating round {@code round} on top of the current global model (not modified). */
    RoundAggregator begin(long round, ModelWeights global);

    /**
     * Refuses a federation too small for this strategy to do what it promises (a trimmed mean that trims
     * nothing, Krum that cannot outvote its tolerated attackers), naming the setting to change.
     *
     * @param minClients the fewest updates a round may aggregate
     */
    default void checkClients(int minClients) {
    }

    /**
     * Whether a round's aggregation keeps every accepted update until the round closes (a coordinate-wise median,
     * trimmed mean, Krum) rather than folding each into a running sum: then a round's memory grows with its updates,
     * and the coordinator's upload memory budget counts them ({@link RoundAggregator#heldBytes()}).
     */
    default boolean holdsEveryUpdate() {
        return false;
    }

    /** State that must survive a restart (server optimiser moments); empty for stateless strategies. */
    default Optional<ModelWeights> state() {
        return Optional.empty();
    }

    /** Restores {@link #state()} from a checkpoint. */
    default void restore(ModelWeights state) {
        throw new IllegalStateException(name() + " keeps no state");
    }
}
