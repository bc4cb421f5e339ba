package io.pqfl.coordinator.evaluate;

import io.pqfl.protocol.ClientMetrics;
import java.util.Map;

/**
 * One evaluation of a model: its mean loss over {@code examples} examples and named metrics. What a central
 * evaluator returns; validated like a client's evaluation ({@link ClientMetrics}).
 */
public record Evaluation(double loss, long examples, Map<String, Double> metrics) {
    public Evaluation {
        ClientMetrics.checkValue(loss, "loss");
        if (examples < 1) {
            throw new IllegalArgumentException("an evaluation covers at least one example, got " + examples);
        }
        metrics = ClientMetrics.check(metrics);
    }
}
