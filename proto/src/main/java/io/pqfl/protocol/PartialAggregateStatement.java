package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.Signer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What an aggregator signs for the partial aggregate it sends its parent (docs/PROTOCOL.md, "Partial-aggregate
 * statement"): every field of its {@link UpdateStatement} (parent federation, round, nonce and base model, the
 * aggregator's id and key, the aggregate's digest and example count), then the child round it ran, its ledger head
 * after that round, and the receipt of the updates it folded in, each with its client's signature.
 *
 * <p>Security: the statement makes the aggregator answerable for its receipt. The parent checks that the counts
 * add up to the example count and, holding the clients' keys, that every entry is an update its client signed for
 * the aggregator's round on the parent's model; it cannot check from the statement alone that the aggregate is the
 * mean of those updates (it never sees them): the aggregator's ledger, which {@code aggregatorLedgerHead} pins, can.
 */
public record PartialAggregateStatement(UpdateStatement update, PartialAggregate partial) {
    public static final String TAG = "pqfl.partial-aggregate-statement";
    public static final int VERSION = 1;

    public PartialAggregateStatement {
        Objects.requireNonNull(update, "update");
        Objects.requireNonNull(partial, "partial");
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static PartialAggregateStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        UpdateStatement update = new UpdateStatement(r.string(), r.u64(), RoundNonce.of(r.bytes()),
                PayloadDigest.ofBytes(r.bytes()), new ClientId(r.string()), new KeyId(r.string()),
                SignatureScheme.parse(r.string()), PayloadDigest.ofBytes(r.bytes()), r.u64());
        String childFederation = r.string();
        long childRound = r.u64();
        RoundNonce childNonce = RoundNonce.of(r.bytes());
        LedgerHead head = LedgerHead.of(r.bytes());
        long count = r.u32();
        if (count > PartialAggregate.MAX_ENTRIES) {
            throw new IllegalArgumentException("receipt too long: " + count);
        }
        List<PartialReceiptEntry> receipt = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            receipt.add(new PartialReceiptEntry(new ClientId(r.string()), PayloadDigest.ofBytes(r.bytes()), r.u64(),
                    new KeyId(r.string()), SignatureScheme.parse(r.string()), r.bytes()));
        }
        r.end();
        PartialAggregateStatement s = new PartialAggregateStatement(update,
                new PartialAggregate(childFederation, childRound, childNonce, head, receipt));
        if (!java.util.Arrays.equals(s.encode(), encoded)) {
            throw new IllegalArgumentException("receipt is not in canonical (sorted) order");
        }
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        CanonicalWriter w = new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(update.federationId())
                .u64(update.round())
                .bytes(update.nonce().bytes())
                .bytes(update.baseModelDigest().bytes())
                .string(update.clientId().value())
                .string(update.keyId().hex())
                .string(update.scheme().displayName())
                .bytes(update.updateDigest().bytes())
                .u64(update.numExamples())
                .string(partial.childFederationId())
                .u64(partial.childRound())
                .bytes(partial.childNonce().bytes())
                .bytes(partial.aggregatorLedgerHead().bytes())
                .u32(partial.receipt().size());
        for (PartialReceiptEntry e : partial.receipt()) {
            w.string(e.clientId().value()).bytes(e.updateDigest().bytes()).u64(e.numExamples())
                    .string(e.keyId().hex()).string(e.scheme().displayName()).bytes(e.signature());
        }
        return w.toByteArray();
    }

    /** The aggregator's signature over this statement with {@code key} (the key the update statement names). */
    public byte[] sign(SigningKey key) {
        if (!key.keyId().equals(update.keyId())) {
            throw new IllegalArgumentException("the statement names key " + update.keyId() + ", not " + key.keyId());
        }
        return Signer.create(key).sign(encode()).bytes();
    }
}
