package io.pqfl.sim.fleet;

import io.pqfl.protocol.ModelWeights;
import java.util.Map;

/**
 * What a worker made of a {@link Job}: the trained weights (a fit; null for an evaluation), the example count, the
 * loss and metrics the trainer reported, and the milliseconds the worker spent computing (the simulation's
 * training compute).
 */
record JobResult(ModelWeights weights, long examples, double loss, Map<String, Double> metrics, long computeMillis) {
    JobResult {
        metrics = Map.copyOf(metrics);
    }
}
