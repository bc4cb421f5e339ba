package io.pqfl.coordinator.round;

import io.pqfl.coordinator.aggregate.RoundAggregator;
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
}
