package io.pqfl.trainer;

import java.util.Map;

/**
 * What a {@link Trainer#evaluate} measured: the loss, the number of examples it was measured on (0 when the client
 * holds none out; the loss is then meaningless, conventionally 0) and metrics. Checked when built: a finite loss, a
 * count of at least 0, and metrics that follow {@link Metrics#check}.
 */
public record EvaluateResult(double loss, long examples, Map<String, Double> metrics) {
    public EvaluateResult {
        if (!Double.isFinite(loss)) {
            throw new IllegalArgumentException("the evaluation loss is " + loss + ", not a finite number");
        }
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
