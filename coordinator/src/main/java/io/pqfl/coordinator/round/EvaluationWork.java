package io.pqfl.coordinator.round;

import io.pqfl.coordinator.evaluate.EvaluationChecks;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.evaluate.WeightedMeans;
import io.pqfl.protocol.EvaluationStatement;
import java.time.Instant;

/**
 * The open evaluation's working parts, beside the state machine's bookkeeping: what reports are checked against,
 * the signed EVALUATE tasks, and the running example-weighted means of the accepted evaluations.
 */
final class EvaluationWork {
    final EvaluationChecks.Context context;
    final RoundTask task;
    final Instant openedAt;
    private final WeightedMeans means = new WeightedMeans();

    EvaluationWork(EvaluationChecks.Context context, RoundTask task, Instant openedAt) {
        this.context = context;
        this.task = task;
        this.openedAt = openedAt;
    }

    long round() {
        return context.round();
    }

    synchronized void fold(EvaluationStatement s) {
        means.add(s.numExamples(), s.loss(), s.metrics());
    }

    synchronized EvaluationSummary summary() {
        return means.summary(context.round(), EvaluationSummary.Source.FEDERATED);
    }
}
