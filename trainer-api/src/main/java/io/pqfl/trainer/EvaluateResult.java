package io.pqfl.trainer;

import io.pqfl.protocol.ClientMetrics;
import java.util.Map;

/**
 * What a {@link Trainer#evaluate} measured: the loss, the number of examples it was measured on (0 when the client
 * holds none out; the loss is then meaningless, conventionally 0) and metrics. Checked when built: a loss by the
 * rules of a metric's value (finite, within ±1e12: {@code proto}'s {@link ClientMetrics}), a count of at least 0,
 * and metrics that follow {@link Metrics#check}.
 */
public record EvaluateResult(double loss, long examples, Map<String, Double> metrics) {
    public EvaluateResult {
        ClientMetrics.checkValue(loss, "the evaluation loss");
        if (examples < 0) {
            throw new IllegalArgumentException("an evaluation counts at least 0 examples, the trainer reported " + examples);
        }
        metrics = Metrics.check(metrics);
    }

    /** The metric {@code name}, or {@code fallback} when the trainer did not report it. */
    public double metric(String name, double fallback) {
        return metrics.getOrDefault(name, fallback);
    }
}
