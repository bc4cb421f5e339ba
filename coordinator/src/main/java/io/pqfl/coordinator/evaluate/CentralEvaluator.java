package io.pqfl.coordinator.evaluate;

import io.pqfl.protocol.ModelWeights;

/**
 * Evaluates a global model on the coordinator's own test set (Flower's {@code Strategy.evaluate}): called after each
 * round that published a model, on the closing thread and off the engine's lock, before the next round opens. Its
 * result is recorded like a federated evaluation, marked {@code CENTRAL}. Plain Java: the coordinator has no
 * training library, so an implementation brings its own (the simulation can plug in a DJL one). A result that is
 * not a valid {@link Evaluation} or an exception is logged and recorded nowhere; the run goes on.
 */
@FunctionalInterface
public interface CentralEvaluator {
    /** The evaluation of {@code model}, the global model {@code round} published. */
    Evaluation evaluate(long round, ModelWeights model);
}
