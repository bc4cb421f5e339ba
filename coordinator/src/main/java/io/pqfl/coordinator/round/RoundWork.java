package io.pqfl.coordinator.round;

import io.pqfl.coordinator.aggregate.RoundAggregator;
import io.pqfl.coordinator.evaluate.WeightedMeans;
import io.pqfl.protocol.ReportedMetrics;
import java.util.Map;
import java.util.TreeMap;
import io.pqfl.coordinator.verify.RoundContext;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ReceiptEntry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The open round's working parts, beside the state machine's bookkeeping: what headers are checked against, the
 * strategy's aggregation in progress, the receipt of what was folded in, and the task clients are sent. Used
 * under the engine's lock.
 */
final class RoundWork {
    final RoundContext context;
    final RoundAggregator aggregator;
    final RoundTask task;
    final Instant openedAt;
    final List<ReceiptEntry> receipt = new ArrayList<>();
    /**
     * Every client whose update this round counts: the senders of accepted updates and the clients an accepted
     * partial aggregate's receipt names, so that no client's update is counted twice through two aggregators, or
     * once directly and once through an aggregator.
     */
    final java.util.Set<io.pqfl.crypto.ClientId> counted = new java.util.HashSet<>();
    /** The advisory metrics of the accepted updates, weighted by their example counts. */
    final WeightedMeans clientReports = new WeightedMeans();

    RoundWork(RoundContext context, RoundAggregator aggregator, RoundTask task, Instant openedAt) {
        this.context = context;
        this.aggregator = aggregator;
        this.task = task;
        this.openedAt = openedAt;
    }

    long round() {
        return context.round();
    }

    void fold(VerifiedUpdate update) {
        aggregator.accept(update);
        receipt.add(update.receiptEntry());
    }

    /**
     * Adds an accepted update's reported metrics (already validated): its train loss as the loss, its held-out
     * {@code eval_loss}/{@code eval_accuracy} when it evaluated any examples, and its named metrics, all weighted by
     * the update's example count. {@code eval_loss} and {@code eval_accuracy} in the free map are ignored.
     */
    void report(long examples, ReportedMetrics m) {
        Map<String, Double> metrics = new TreeMap<>(m.metrics());
        // The held-out metrics come from their fixed (bounded) fields only, never from the free map: a client that
        // evaluated nothing could otherwise report an eval_accuracy of 1e12 through it.
        metrics.remove("eval_loss");
        metrics.remove("eval_accuracy");
        if (m.evalExamples() > 0) {
            metrics.put("eval_loss", m.evalLoss());
            metrics.put("eval_accuracy", m.evalAccuracy());
        }
        clientReports.add(examples, m.trainLoss(), metrics);
    }
}
