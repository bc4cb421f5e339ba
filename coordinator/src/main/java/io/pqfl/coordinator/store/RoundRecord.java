package io.pqfl.coordinator.store;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.RoundNonce;
import java.util.List;

/** A round as stored: its nonce and sampled clients survive a restart, so an open round can be resumed. */
public record RoundRecord(long round, RoundNonce nonce, State state, List<ClientId> sampled,
                          PayloadDigest baseModelDigest, long deadlineMs, PayloadDigest modelDigest) {
    public enum State { OPEN, COMPLETED, SKIPPED }

    public RoundRecord {
        sampled = List.copyOf(sampled);
    }
}
