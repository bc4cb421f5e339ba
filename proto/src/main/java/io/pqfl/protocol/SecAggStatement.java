package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.util.List;
import java.util.Objects;

/**
 * What is signed in secure aggregation (docs/PROTOCOL.md, "Secure-aggregation statements"): one statement shape for
 * every message of the protocol, binding the federation, the round and its nonce (no replay into another round), the
 * client, which message it is ({@link Part}: a message of one phase is never taken for another), the message's
 * canonical body, and the key it is signed with. Clients sign {@link Part#ADVERTISE}, {@link Part#SHARE},
 * {@link Part#MASKED_INPUT} and {@link Part#REVEAL} with their own keys; the coordinator signs {@link Part#SETUP} and
 * {@link Part#UNMASK_REQUEST} for the client they are addressed to with its model-signing key, so a client knows its
 * neighbours' keys and the unmask request come from the coordinator it pinned.
 */
public record SecAggStatement(String federationId, long round, RoundNonce nonce, ClientId clientId, Part part,
                              byte[] body, SignatureScheme scheme, KeyId keyId) {
    public static final String TAG = "pqfl.secagg-statement";
    public static final int VERSION = 1;

    /** The protocol's messages. */
    public enum Part {
        ADVERTISE("advertise"), SETUP("setup"), SHARE("share"), MASKED_INPUT("masked-input"),
        UNMASK_REQUEST("unmask-request"), REVEAL("reveal");

        private final String wire;

        Part(String wire) {
            this.wire = wire;
        }

        public String wireName() {
            return wire;
        }

        static Part ofWire(String s) {
            for (Part p : values()) {
                if (p.wire.equals(s)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown secure-aggregation message '" + s + "'");
        }
    }

    public SecAggStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(part, "part");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(keyId, "keyId");
        body = Objects.requireNonNull(body, "body").clone();
        if (round < 1) {
            throw new IllegalArgumentException("rounds start at 1, got " + round);
        }
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    /** The round's context for key derivation: federation, round and nonce, canonically encoded. */
    public static byte[] context(String federationId, long round, RoundNonce nonce) {
        return new CanonicalWriter().string("pqfl.secagg-context").u16(VERSION).string(federationId).u64(round)
                .bytes(nonce.bytes()).toByteArray();
    }

    /** Body of {@link Part#ADVERTISE}: the mask keys, the sealing keys and the self-mask commitment. */
    public static byte[] advertiseBody(byte[] kemPublic, byte[] x25519Public, byte[] sealKemPublic, byte[] sealX25519Public,
                                       byte[] selfMaskCommitment) {
        return new CanonicalWriter().bytes(kemPublic).bytes(x25519Public).bytes(sealKemPublic).bytes(sealX25519Public)
                .bytes(selfMaskCommitment).toByteArray();
    }

    /** One neighbour in a {@link Part#SETUP} body: its id, key and the digest of its signed advertisement statement. */
    public record Neighbour(ClientId clientId, KeyId keyId, PayloadDigest advertisement) {
    }

    /**
     * Body of {@link Part#SETUP}: the round's parameters (with distributed DP's L2 clip and per-client noise std, both 0
     * without it) and the recipient's neighbours.
     */
    public static byte[] setupBody(int threshold, double clip, int fractionBits, long weightCap, double dpClip,
                                   double dpNoiseStd, List<Neighbour> neighbours) {
        CanonicalWriter w = new CanonicalWriter().u32(threshold).f64(clip).u32(fractionBits).u64(weightCap).f64(dpClip)
                .f64(dpNoiseStd).u32(neighbours.size());
        for (Neighbour n : neighbours) {
            w.string(n.clientId().value()).string(n.keyId().hex()).bytes(n.advertisement().bytes());
        }
        return w.toByteArray();
    }

    /** Body of {@link Part#SHARE}: one sealed share pair, from the statement's client to {@code to}. */
    public static byte[] shareBody(ClientId to, int index, byte[] kemCiphertext, byte[] sealCiphertext, byte[] sealed,
                                   byte[] selfShareDigest, byte[] pairShareDigest) {
        return new CanonicalWriter().string(to.value()).u32(index).bytes(kemCiphertext).bytes(sealCiphertext).bytes(sealed)
                .bytes(selfShareDigest).bytes(pairShareDigest).toByteArray();
    }

    /** Body of {@link Part#MASKED_INPUT}: the number of 64-bit words and the SHA-512 of their bytes. */
    public static byte[] maskedInputBody(long words, PayloadDigest digest) {
        return new CanonicalWriter().u64(words).bytes(digest.bytes()).toByteArray();
    }

    /** The digest a {@link Part#MASKED_INPUT} body names. */
    public static PayloadDigest maskedInputDigest(byte[] body) {
        CanonicalReader r = new CanonicalReader(body);
        r.u64();
        PayloadDigest d = PayloadDigest.ofBytes(r.bytes());
        r.end();
        return d;
    }

    /** Body of {@link Part#UNMASK_REQUEST}: the survivors and the dropped among the recipient's neighbours. */
    public static byte[] unmaskRequestBody(List<ClientId> survivors, List<ClientId> dropped) {
        CanonicalWriter w = new CanonicalWriter().u32(survivors.size());
        survivors.forEach(c -> w.string(c.value()));
        w.u32(dropped.size());
        dropped.forEach(c -> w.string(c.value()));
        return w.toByteArray();
    }

    /** One revealed share in a {@link Part#REVEAL} body. */
    public record Revealed(ClientId owner, boolean selfMask, int index, byte[] share) {
    }

    /** Body of {@link Part#REVEAL}. */
    public static byte[] revealBody(List<Revealed> shares) {
        CanonicalWriter w = new CanonicalWriter().u32(shares.size());
        for (Revealed s : shares) {
            w.string(s.owner().value()).u8(s.selfMask() ? 1 : 0).u32(s.index()).bytes(s.share());
        }
        return w.toByteArray();
    }

    public SignatureValue sign(Signer signer) {
        Objects.requireNonNull(signer, "signer");
        if (!signer.keyId().equals(keyId) || signer.scheme() != scheme) {
            throw new IllegalArgumentException("the statement names key " + keyId + " (" + scheme + "), the signer is "
                    + signer.keyId() + " (" + signer.scheme() + ")");
        }
        return signer.sign(encode());
    }

    /**
     * @throws SignatureVerificationException when the signature does not verify
     * @throws IllegalArgumentException when {@code key} is not the key the statement names
     */
    public void verify(VerifyingKey key, SignatureValue signature) throws SignatureVerificationException {
        Objects.requireNonNull(key, "key");
        if (!key.keyId().equals(keyId) || key.scheme() != scheme) {
            throw new IllegalArgumentException("the " + part.wireName() + " message names key " + keyId + " (" + scheme
                    + "), not " + key.keyId() + " (" + key.scheme() + ")");
        }
        Verifier.create(key).verify(encode(), signature);
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static SecAggStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        SecAggStatement s = new SecAggStatement(r.string(), r.u64(), RoundNonce.of(r.bytes()), new ClientId(r.string()),
                Part.ofWire(r.string()), r.bytes(), SignatureScheme.parse(r.string()), new KeyId(r.string()));
        r.end();
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        return new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(federationId)
                .u64(round)
                .bytes(nonce.bytes())
                .string(clientId.value())
                .string(part.wireName())
                .bytes(body)
                .string(scheme.displayName())
                .string(keyId.hex())
                .toByteArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SecAggStatement s && java.util.Arrays.equals(encode(), s.encode());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "SecAggStatement[" + part.wireName() + " of " + clientId + ", round " + round + "]";
    }
}
