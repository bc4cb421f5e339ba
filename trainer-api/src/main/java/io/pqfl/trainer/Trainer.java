package io.pqfl.trainer;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;

/**
 * A client's local training: the one thing a user implements to federate their own model and training loop. The
 * client agent does everything else — it fetches the coordinator's signed task, verifies the global model against
 * the pinned coordinator key, checks that the model is this trainer's ({@link #manifest()}), calls {@link #fit},
 * and signs and uploads the weights it returns. A trainer never sees anything unverified and signs nothing.
 *
 * <p>A trainer is built for one client and one model ({@link TrainerFactory#create}) and used from one thread at a
 * time: the agent calls {@code fit} and {@code evaluate} one after the other, never concurrently. Weights passed in
 * belong to the caller (copy before changing them); weights returned must follow {@link #manifest()} exactly — the
 * same tensors, in order, with the same shapes — and be finite, or the coordinator refuses the update.
 *
 * <p>Errors: a trainer throws {@link TrainerException} with a message for the user (bad option, unreadable data, a
 * model that cannot be trained). A {@code RuntimeException} is treated the same way: the agent reports the round as
 * failed and sends nothing for it.
 *
 * <p>Nothing here depends on a training library: the DJL trainer in {@code pqfl-client} is one implementation, a
 * trainer on plain arrays is another.
 */
public interface Trainer extends AutoCloseable {
    /**
     * The model this trainer trains: its tensors' names and shapes, in the order {@link ModelWeights} carries them.
     * The agent refuses a task whose model differs.
     */
    ModelManifest manifest();

    /**
     * Trains locally from {@code global} and returns the new weights, how many examples they were trained on, and
     * metrics ({@link Metrics} names the well-known ones; {@link Metrics#LOSS} is the training loss).
     *
     * @param global the verified global model of the round
     * @param context the round, its training configuration (epochs, batch size, learning rate, proximal term,
     *     optimizer) as the coordinator signed it, a seed, and where to report progress
     */
    FitResult fit(ModelWeights global, TrainContext context) throws TrainerException;

    /**
     * Evaluates {@code model} on this client's held-out examples: the loss, how many examples it was measured on
     * (0 when the client holds none out) and metrics ({@link Metrics#ACCURACY}, {@link Metrics#MAE}, ...).
     */
    EvaluateResult evaluate(ModelWeights model, TrainContext context) throws TrainerException;

    /**
     * Initial weights for a new federation on this trainer's model, when it can make them (the built-in DJL models
     * can; a trainer over a model file may return the file's weights). A simulation starts its coordinator from
     * them; a real coordinator is given an initial model file instead.
     *
     * @throws TrainerException by default: this trainer makes no initial weights
     */
    default ModelWeights initialWeights(long seed) throws TrainerException {
        throw new TrainerException(getClass().getName() + " makes no initial weights for " + manifest().architecture()
                + ": give the coordinator an initial model file");
    }

    /** Releases what the trainer holds (native memory, files); the default holds nothing. */
    @Override
    default void close() {
    }
}
