package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import java.util.Objects;

/** One aggregated update in a model's receipt. */
public record ReceiptEntry(ClientId clientId, PayloadDigest updateDigest, long numExamples) {
    public ReceiptEntry {
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(updateDigest, "updateDigest");
        if (numExamples < 0) {
            throw new IllegalArgumentException("example count must not be negative");
        }
    }
}
