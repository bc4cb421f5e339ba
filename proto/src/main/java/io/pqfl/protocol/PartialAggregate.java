package io.pqfl.protocol;

import io.pqfl.crypto.PayloadDigest;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * What an aggregator claims about the update it sends its parent, beyond the update statement: the child round it
 * ran (its own federation id, round and nonce), the head of its own ledger after that round closed, and the receipt
 * of the updates it folded in, sorted by client id (byte order of UTF-8 equals String order for the ids pqfl allows).
 * {@link #statement} binds all of it to the update into the {@link PartialAggregateStatement} the aggregator signs.
 */
public record PartialAggregate(String childFederationId, long childRound, RoundNonce childNonce,
                               LedgerHead aggregatorLedgerHead, List<PartialReceiptEntry> receipt) {
    /** The most entries one receipt may hold (a trailer is bounded by the message size limit long before). */
    public static final int MAX_ENTRIES = 100_000;

    public PartialAggregate {
        FederationIds.require(childFederationId);
        Objects.requireNonNull(childNonce, "childNonce");
        Objects.requireNonNull(aggregatorLedgerHead, "aggregatorLedgerHead");
        if (childRound < 1) {
            throw new IllegalArgumentException("child rounds start at 1, got " + childRound);
        }
        if (receipt.isEmpty()) {
            throw new IllegalArgumentException("a partial aggregate folds in at least one update");
        }
        if (receipt.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("receipt of " + receipt.size() + " entries, at most " + MAX_ENTRIES);
        }
        receipt = receipt.stream().sorted(Comparator.comparing(e -> e.clientId().value())).toList();
        for (int i = 1; i < receipt.size(); i++) {
            if (receipt.get(i).clientId().equals(receipt.get(i - 1).clientId())) {
                throw new IllegalArgumentException("client " + receipt.get(i).clientId() + " appears twice in the receipt");
            }
        }
    }

    /** The sum of the receipt's example counts (exact: throws {@link ArithmeticException} on overflow). */
    public long totalExamples() {
        long sum = 0;
        for (PartialReceiptEntry e : receipt) {
            sum = Math.addExact(sum, e.numExamples());
        }
        return sum;
    }

    /** The statement the aggregator signs for {@code update}, the update statement of its partial aggregate. */
    public PartialAggregateStatement statement(UpdateStatement update) {
        return new PartialAggregateStatement(update, this);
    }

    /** The update statement that receipt entry {@code e}'s client signed in the child round. */
    public UpdateStatement childStatement(PartialReceiptEntry e, PayloadDigest baseModelDigest) {
        return e.childStatement(childFederationId, childRound, childNonce, baseModelDigest);
    }
}
