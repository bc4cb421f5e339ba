package io.pqfl.protocol;

import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * What the coordinator signs for each global model (docs/PROTOCOL.md, "Model statement"): the federation,
 * the round that produced it, its digest, its parent's digest (so models form a chain), the head of the
 * audit ledger just before the model was published, and the receipt of the updates that were aggregated
 * into it, sorted by client id; and the digest of the strategy's state kept with the model (a server
 * optimiser's moments, which steer later models), so that state is as signed as the model.
 *
 * <p>Security: the ledger head makes the coordinator's signature cover the ledger's history up to the
 * model, so someone who can edit the coordinator's database cannot remove, add or alter an earlier entry
 * (a rejected update, an enrollment) without breaking a signed statement; see {@link LedgerHead}.
 */
public record ModelStatement(String federationId, long modelRound, PayloadDigest modelDigest,
                             PayloadDigest parentModelDigest, LedgerHead ledgerHead, PayloadDigest strategyStateDigest,
                             List<ReceiptEntry> receipt, SignatureScheme scheme, KeyId coordinatorKeyId) {
    public static final String TAG = "pqfl.model-statement";
    /**
     * Version 2 added {@code ledger_head} and {@code strategy_state_digest}; version 1 statements are not
     * accepted.
     */
    public static final int VERSION = 2;

    public ModelStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(modelDigest, "modelDigest");
        Objects.requireNonNull(ledgerHead, "ledgerHead");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(coordinatorKeyId, "coordinatorKeyId");
        if (modelRound < 0) {
            throw new IllegalArgumentException("model round must not be negative");
        }
        if (modelRound == 0 && parentModelDigest != null) {
            throw new IllegalArgumentException("the initial model (round 0) has no parent");
        }
        if (modelRound > 0 && parentModelDigest == null) {
            throw new IllegalArgumentException("a model of round " + modelRound + " needs its parent's digest");
        }
        receipt = receipt.stream().sorted(Comparator.comparing(r -> r.clientId().value())).toList();
        for (int i = 1; i < receipt.size(); i++) {
            if (receipt.get(i).clientId().equals(receipt.get(i - 1).clientId())) {
                throw new IllegalArgumentException("client " + receipt.get(i).clientId() + " appears twice in the receipt");
            }
        }
    }

    /** A statement for a strategy that keeps no state. */
    public ModelStatement(String federationId, long modelRound, PayloadDigest modelDigest, PayloadDigest parentModelDigest,
                          LedgerHead ledgerHead, List<ReceiptEntry> receipt, SignatureScheme scheme, KeyId coordinatorKeyId) {
        this(federationId, modelRound, modelDigest, parentModelDigest, ledgerHead, null, receipt, scheme, coordinatorKeyId);
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static ModelStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        String federation = r.string();
        long round = r.u64();
        PayloadDigest model = PayloadDigest.ofBytes(r.bytes());
        byte[] parent = r.bytes();
        LedgerHead head = LedgerHead.of(r.bytes());
        byte[] state = r.bytes();
        long count = r.u32();
        if (count > 1_000_000) {
            throw new IllegalArgumentException("receipt too long: " + count);
        }
        List<ReceiptEntry> receipt = new java.util.ArrayList<>();
        for (long i = 0; i < count; i++) {
            receipt.add(new ReceiptEntry(new io.pqfl.crypto.ClientId(r.string()), PayloadDigest.ofBytes(r.bytes()), r.u64()));
        }
        ModelStatement s = new ModelStatement(federation, round, model, parent.length == 0 ? null : PayloadDigest.ofBytes(parent),
                head, state.length == 0 ? null : PayloadDigest.ofBytes(state), receipt, SignatureScheme.parse(r.string()),
                new KeyId(r.string()));
        r.end();
        if (!java.util.Arrays.equals(s.encode(), encoded)) {
            throw new IllegalArgumentException("receipt is not in canonical (sorted) order");
        }
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        CanonicalWriter w = new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(federationId)
                .u64(modelRound)
                .bytes(modelDigest.bytes())
                .bytes(parentModelDigest == null ? new byte[0] : parentModelDigest.bytes())
                .bytes(ledgerHead.bytes())
                .bytes(strategyStateDigest == null ? new byte[0] : strategyStateDigest.bytes())
                .u32(receipt.size());
        for (ReceiptEntry e : receipt) {
            w.string(e.clientId().value()).bytes(e.updateDigest().bytes()).u64(e.numExamples());
        }
        return w.string(scheme.displayName()).string(coordinatorKeyId.hex()).toByteArray();
    }
}
