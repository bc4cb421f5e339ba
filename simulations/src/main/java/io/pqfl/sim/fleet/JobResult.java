package io.pqfl.sim.fleet;

import io.pqfl.protocol.ModelWeights;
import java.util.Map;

/**
 * What a worker made of a {@link Job}: the trained weights (a fit; null for an evaluation), the example count, the
 * loss and metrics the trainer reported, the milliseconds the job took in the worker (the simulation's training
 * compute) and the CPU time the worker's thread spent on it (less than the former when the job waited for a core).
 */
record JobResult(ModelWeights weights, long examples, double loss, Map<String, Double> metrics, long computeMillis,
                 long cpuMillis) {
    JobResult {
        metrics = Map.copyOf(metrics);
    }
}
