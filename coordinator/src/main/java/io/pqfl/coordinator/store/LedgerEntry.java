package io.pqfl.coordinator.store;

import java.util.Objects;

/**
 * One row of the audit ledger. {@code statement} and {@code signature} are the exact bytes that were (or
 * would have been) verified, so the ledger can be re-checked offline.
 */
public record LedgerEntry(long seq, Kind kind, long round, String clientId, String keyId, String scheme,
                          byte[] statement, byte[] signature, byte[] payloadDigest, String reason, String detail,
                          String recordedAt, byte[] prevHash, byte[] entryHash) {
    public enum Kind {
        UPDATE_ACCEPTED, UPDATE_REJECTED, MODEL_PUBLISHED, ROUND_SKIPPED,
        /** A client enrolled with a one-time token: the statement is its signed enrollment statement. */
        CLIENT_ENROLLED,
        /** A client was admitted by its federation certificate: the statement is the certificate (DER). */
        CLIENT_CERTIFIED,
        /**
         * A client's evaluation was accepted: the statement is its evaluation statement, the payload digest the
         * SHA-512 of that statement, the detail its loss, examples and metrics.
         */
        EVALUATION_ACCEPTED,
        /** A client's evaluation was refused: the reason and detail say why (no statement). */
        EVALUATION_REJECTED,
        /**
         * An evaluation closed: the reason is its source (FEDERATED or CENTRAL), the detail its aggregate (or why it
         * is empty).
         */
        EVALUATION_CLOSED,
        /**
         * An aggregator's partial aggregate was accepted (right after its UPDATE_ACCEPTED entry): the statement is its
         * partial-aggregate statement, the signature the aggregator's over it, the payload digest the aggregate's, the
         * detail the aggregator's ledger head, its child round and the receipt's size (docs/AGGREGATOR.md).
         */
        PARTIAL_AGGREGATE,
        /**
         * An aggregator's coordinator took its parent's model as the base of its next round: the statement is the
         * model statement it signed for that model (receipt empty), the payload digest the model's.
         */
        MODEL_ADOPTED,
        /**
         * A client's masked input in a round with secure aggregation was accepted: the statement is its signed
         * secure-aggregation statement (docs/PROTOCOL.md), the payload digest the SHA-512 of the masked bytes (what the
         * round's model statement lists in its receipt), the detail the number of 64-bit words.
         */
        SECAGG_INPUT_ACCEPTED,
        /**
         * What a round of central differential privacy spent (docs/PRIVACY.md): the reason is {@code CENTRAL_DP}, the
         * detail the round's {@link io.pqfl.coordinator.privacy.PrivacySpent#describe()} (sampling rate, updates and
         * clipped, clip norm and the next round's, noise multiplier, the round's epsilon and the total at delta). It is
         * written in the transaction that closes the round, right before the round's {@code MODEL_PUBLISHED} (whose
         * signature covers it through the ledger head) or {@code ROUND_SKIPPED}.
         */
        PRIVACY_SPENT
    }

    public LedgerEntry {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(recordedAt, "recordedAt");
    }
}
