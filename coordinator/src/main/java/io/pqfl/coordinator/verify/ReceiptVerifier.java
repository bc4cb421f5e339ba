package io.pqfl.coordinator.verify;

import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.TrustStore.TrustedClient;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.PartialAggregate;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.PartialReceiptEntry;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.UpdateStatement;
import java.util.Objects;
import java.util.Optional;

/**
 * The parent's checks on an aggregator's partial aggregate (docs/AGGREGATOR.md), after its update passed every
 * check of {@link UpdateVerifier}: the aggregator's signature over the partial-aggregate statement rebuilt from the
 * verified update statement and the receipt (BAD_SIGNATURE), then the receipt (BAD_RECEIPT): its example counts add
 * up to the update's, its child round is not one of this federation, and, when the coordinator holds the keys of
 * the aggregators' clients, every entry is an update its client signed for the aggregator's child round on the
 * parent round's model.
 *
 * <p>Security: what this cannot check is that the aggregate is the example-weighted mean of the listed updates:
 * the parent never sees them. The aggregator's ledger, whose head the statement binds and the parent's ledger
 * records, holds them; {@code pqfl ledger verify --aggregator} follows that link offline.
 */
public final class ReceiptVerifier {
    private final EnrolledKeys childKeys;

    /**
     * @param childKeys the keys of the aggregators' clients, or null when this coordinator has none: then receipts
     *     are checked for their sums and the aggregator's signature only, and their entries' signatures are
     *     recorded for offline checking
     */
    public ReceiptVerifier(EnrolledKeys childKeys) {
        this.childKeys = childKeys;
    }

    /** Whether entries' client signatures are checked here (the coordinator holds the child keys). */
    public boolean checksEntries() {
        return childKeys != null;
    }

    /**
     * Checks {@code partial} for {@code update} (an update {@link UpdateVerifier} accepted) and the aggregator's
     * {@code signature} over their statement with {@code aggregatorKey}; returns the statement.
     */
    public PartialAggregateStatement verify(VerifiedUpdate update, VerifyingKey aggregatorKey, PartialAggregate partial,
                                            byte[] signature) throws RefusedException {
        Objects.requireNonNull(update, "update");
        Objects.requireNonNull(partial, "partial");
        UpdateStatement u = update.statement();
        PartialAggregateStatement statement = partial.statement(u);
        try {
            Verifier.create(aggregatorKey).verify(statement.encode(), SignatureValue.of(aggregatorKey.scheme(), signature));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new RefusedException(RejectReason.BAD_SIGNATURE, "the aggregator's signature over its partial-aggregate "
                    + "statement does not verify: " + e.getMessage());
        }
        if (partial.childFederationId().equals(u.federationId())) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, "the receipt's child round is in this federation ("
                    + LogSafe.text(u.federationId()) + "): an aggregator runs its own");
        }
        long total;
        try {
            total = partial.totalExamples();
        } catch (ArithmeticException e) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, "the receipt's example counts overflow");
        }
        if (total != u.numExamples()) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, "the receipt's example counts add up to " + total
                    + ", the partial aggregate claims " + u.numExamples());
        }
        if (childKeys != null) {
            for (PartialReceiptEntry e : partial.receipt()) {
                checkEntry(partial, e, u);
            }
        }
        return statement;
    }

    private void checkEntry(PartialAggregate partial, PartialReceiptEntry e, UpdateStatement u) throws RefusedException {
        String who = "receipt entry of client " + LogSafe.text(e.clientId().value());
        Optional<TrustedClient> client = childKeys.find(e.clientId());
        if (client.isEmpty()) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, who + ": no such client of an aggregator is known here");
        }
        VerifyingKey key = client.get().key();
        if (client.get().revoked()) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, who + ": its key " + key.keyId() + " is revoked");
        }
        if (!key.keyId().equals(e.keyId()) || key.scheme() != e.scheme()) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, who + " names key " + e.keyId() + " (" + e.scheme()
                    + "), its key is " + key.keyId() + " (" + key.scheme() + ")");
        }
        UpdateStatement child = partial.childStatement(e, u.baseModelDigest());
        try {
            Verifier.create(key).verify(child.encode(), e.signatureValue());
        } catch (SignatureVerificationException | IllegalArgumentException ex) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, who + " is not an update its client signed: for "
                    + e.numExamples() + " examples, digest " + e.updateDigest() + ", in round " + partial.childRound()
                    + " of " + LogSafe.text(partial.childFederationId()) + " on this round's model ("
                    + ex.getMessage() + ")");
        }
    }
}
