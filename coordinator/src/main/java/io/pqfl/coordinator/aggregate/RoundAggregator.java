package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelWeights;

/** One round's aggregation. Not thread-safe: the coordinator serialises {@link #accept} calls. */
public interface RoundAggregator {
    /** Folds in (or keeps) one verified update. */
    void accept(VerifiedUpdate update);

    /** Updates accepted so far. */
    int count();

    /** The new global model; call once, with at least one update accepted. */
    ModelWeights finish();
}
