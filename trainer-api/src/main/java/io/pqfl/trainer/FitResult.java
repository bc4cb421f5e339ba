package io.pqfl.trainer;

import io.pqfl.protocol.ModelWeights;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link Trainer#fit} produced: the new weights, the number of examples they were trained on (the weight
 * of this update in FedAvg, and part of the signed update statement), and metrics.
 *
 * <p>Checked when built, so a trainer's mistake is reported clearly at the client and never sent: at least one
 * example, and metrics that follow {@link Metrics#check} (at most 32, names of {@code [a-z0-9_.]{1,64}}, finite
 * values within ±1e12).
 */
public record FitResult(ModelWeights weights, long examples, Map<String, Double> metrics) {
    public FitResult {
        Objects.requireNonNull(weights, "weights");
        if (examples < 1) {
            throw new IllegalArgumentException("a fit trains on at least one example, the trainer reported " + examples);
        }
        metrics = Metrics.check(metrics);
    }

    /** A result without metrics. */
    public static FitResult of(ModelWeights weights, long examples) {
        return new FitResult(weights, examples, Map.of());
    }

    /** The metric {@code name}, or {@code fallback} when the trainer did not report it. */
    public double metric(String name, double fallback) {
        return metrics.getOrDefault(name, fallback);
    }
}
