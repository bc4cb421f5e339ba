package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelWeights;

/** One round's aggregation. Not thread-safe: the coordinator serialises {@link #accept} calls. */
public interface RoundAggregator {
    /** Folds in (or keeps) one verified update. */
    void accept(VerifiedUpdate update);

    /** Updates accepted so far. */
    int count();

    /**
     * Bytes of tensors this aggregation holds until {@link #finish} beyond its running state: the accepted updates
     * themselves, for a strategy that {@linkplain Strategy#holdsEveryUpdate() holds every update}; 0 for one that
     * folds each update in and lets it go. The coordinator counts them against its upload memory budget.
     */
    default long heldBytes() {
        return 0;
    }

    /** The new global model; call once, with at least one update accepted. */
    ModelWeights finish();
}
