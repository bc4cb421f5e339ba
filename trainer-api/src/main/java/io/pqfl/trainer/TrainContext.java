package io.pqfl.trainer;

import io.pqfl.protocol.TrainingConfig;
import java.util.Objects;

/**
 * What one call of {@link Trainer#fit} or {@link Trainer#evaluate} is for.
 *
 * @param round the federation round
 * @param config the round's training configuration as the coordinator signed it in the task: local epochs, batch
 *     size, learning rate, FedProx's proximal term {@code mu} (0 for none) and the optimizer's name
 * @param seed for whatever the trainer randomises (shuffling, dropout); the agent derives it from the client's seed
 *     and the round, so a rerun is reproducible
 * @param progress where the trainer may report examples done
 */
public record TrainContext(long round, TrainingConfig config, long seed, Progress progress) {
    public TrainContext {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(progress, "progress");
    }

    /** A context that reports no progress. */
    public static TrainContext of(long round, TrainingConfig config, long seed) {
        return new TrainContext(round, config, seed, Progress.NONE);
    }

    /** Receives how far a fit has come; called from the training thread, so it should return quickly. */
    @FunctionalInterface
    public interface Progress {
        /** Reports nothing. */
        Progress NONE = (done, total) -> { };

        /** {@code done} of {@code total} examples processed (over all epochs) so far. */
        void examplesDone(long done, long total);
    }
}
