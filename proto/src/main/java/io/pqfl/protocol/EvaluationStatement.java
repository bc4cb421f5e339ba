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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a client signs for its evaluation of a global model (docs/PROTOCOL.md, "Evaluation statement"): the
 * federation, the evaluation's round (the round whose model was evaluated) and the nonce of its EVALUATE task
 * (no replay into another evaluation), the client, the digest of the model it evaluated (no passing off an
 * evaluation of another model), the loss, the example count that weights it, the named metrics, and the key it
 * is signed with.
 *
 * <p>Loss and metrics are finite and within ±{@link ClientMetrics#MAX_ABS}; metric names follow
 * {@link ClientMetrics}, at most {@value ClientMetrics#MAX_ENTRIES}, encoded sorted by name. The decoder refuses any
 * other encoding, so one evaluation has exactly one statement.
 */
public record EvaluationStatement(String federationId, long round, RoundNonce nonce, ClientId clientId,
                                  PayloadDigest modelDigest, double loss, long numExamples, Map<String, Double> metrics,
                                  SignatureScheme scheme, KeyId keyId) {
    public static final String TAG = "pqfl.evaluation-statement";
    public static final int VERSION = 1;

    public EvaluationStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(modelDigest, "modelDigest");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(keyId, "keyId");
        if (round < 1) {
            throw new IllegalArgumentException("evaluation rounds start at 1, got " + round);
        }
        if (numExamples < 0) {
            throw new IllegalArgumentException("example count must not be negative");
        }
        ClientMetrics.checkValue(loss, "loss");
        metrics = ClientMetrics.check(metrics);
    }

    /** Signs this statement (the client's side). */
    public SignatureValue sign(Signer signer) {
        Objects.requireNonNull(signer, "signer");
        if (!signer.keyId().equals(keyId) || signer.scheme() != scheme) {
            throw new IllegalArgumentException("the statement names key " + keyId + " (" + scheme + "), the signer is "
                    + signer.keyId() + " (" + signer.scheme() + ")");
        }
        return signer.sign(encode());
    }

    /**
     * Checks {@code signature} over this statement with the client's {@code key}.
     *
     * @throws SignatureVerificationException when the signature does not verify
     * @throws IllegalArgumentException when {@code key} is not the key the statement names
     */
    public void verify(VerifyingKey key, SignatureValue signature) throws SignatureVerificationException {
        Objects.requireNonNull(key, "key");
        if (!key.keyId().equals(keyId) || key.scheme() != scheme) {
            throw new IllegalArgumentException("the evaluation names key " + keyId + " (" + scheme
                    + "), not " + key.keyId() + " (" + key.scheme() + ")");
        }
        Verifier.create(key).verify(encode(), signature);
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static EvaluationStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        String federation = r.string();
        long round = r.u64();
        RoundNonce nonce = RoundNonce.of(r.bytes());
        ClientId client = new ClientId(r.string());
        PayloadDigest digest = PayloadDigest.ofBytes(r.bytes());
        double loss = r.f64();
        long examples = r.u64();
        long count = r.u32();
        if (count > ClientMetrics.MAX_ENTRIES) {
            throw new IllegalArgumentException(count + " metrics, at most " + ClientMetrics.MAX_ENTRIES + " allowed");
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        String previous = null;
        for (long i = 0; i < count; i++) {
            String name = r.string();
            if (previous != null && name.compareTo(previous) <= 0) {
                throw new IllegalArgumentException("metric names must be strictly ascending: '" + name + "' after '"
                        + previous + "'");
            }
            previous = name;
            ClientMetrics.checkName(name);
            metrics.put(name, r.f64());
        }
        EvaluationStatement s = new EvaluationStatement(federation, round, nonce, client, digest, loss, examples, metrics,
                SignatureScheme.parse(r.string()), new KeyId(r.string()));
        r.end();
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        CanonicalWriter w = new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(federationId)
                .u64(round)
                .bytes(nonce.bytes())
                .string(clientId.value())
                .bytes(modelDigest.bytes())
                .f64(loss)
                .u64(numExamples)
                .u32(metrics.size());
        metrics.forEach((name, value) -> w.string(name).f64(value)); // sorted by name (the constructor's copy)
        return w.string(scheme.displayName())
                .string(keyId.hex())
                .toByteArray();
    }
}
