package io.pqfl.protocol;

import java.util.Map;

/**
 * The advisory metrics a client sends with an update ({@code LocalMetrics}): not signed, so the coordinator only
 * averages them for reports, never acts on them. Validated like an evaluation's values ({@link ClientMetrics}):
 * losses and metrics finite and bounded, {@code evalAccuracy} in [0, 1], counts not negative.
 */
public record ReportedMetrics(double trainLoss, double evalLoss, double evalAccuracy, long evalExamples,
                              Map<String, Double> metrics) {
    public ReportedMetrics {
        ClientMetrics.checkValue(trainLoss, "train_loss");
        ClientMetrics.checkValue(evalLoss, "eval_loss");
        ClientMetrics.checkValue(evalAccuracy, "eval_accuracy");
        if (evalAccuracy < 0 || evalAccuracy > 1) {
            throw new IllegalArgumentException("eval_accuracy must be in [0, 1], got " + evalAccuracy);
        }
        if (evalExamples < 0) {
            throw new IllegalArgumentException("eval_examples out of range");
        }
        metrics = ClientMetrics.check(metrics);
    }
}
