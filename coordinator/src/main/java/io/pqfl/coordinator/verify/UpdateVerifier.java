package io.pqfl.coordinator.verify;

import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * The coordinator's checks on an incoming update, in the order the upload path meets them. The header
 * checks run before any tensor byte is accepted ({@link #checkSigning}, then {@link #checkHeader}); the rest run
 * when the stream ends ({@link #verify}), and only then is a {@link VerifiedUpdate} made.
 *
 * <p>Under {@link SigningPolicy#UNSIGNED_BASELINE} every check runs but the signature's: a header must then announce
 * no key, and the update is attributed to the key its session proved at Hello.
 */
public final class UpdateVerifier {
    private final EnrolledKeys enrolled;
    private final Set<SignatureScheme> acceptedSchemes;
    private final long maxUpdateBytes;
    private final long maxExamples;
    private final SigningPolicy signing;

    public UpdateVerifier(TrustStore trustStore, Set<SignatureScheme> acceptedSchemes, long maxUpdateBytes) {
        this((EnrolledKeys) Objects.requireNonNull(trustStore, "trustStore")::find, acceptedSchemes, maxUpdateBytes,
                DEFAULT_MAX_EXAMPLES, SigningPolicy.SIGNED);
    }

    /** The default bound on the example count one update may claim. */
    public static final long DEFAULT_MAX_EXAMPLES = 1_000_000;

    /**
     * A verifier that looks clients up in {@code clients} (for example a trust directory plus certificates).
     *
     * @param maxExamples the largest example count one update may claim: a client's weight in aggregation is
     *     its claim, so the bound is what limits one client's say
     * @param signing {@link SigningPolicy#UNSIGNED_BASELINE} only for the research baseline: every other check
     *     still runs, no signature is checked, and a signed update is refused
     */
    public UpdateVerifier(EnrolledKeys clients, Set<SignatureScheme> acceptedSchemes, long maxUpdateBytes, long maxExamples,
                          SigningPolicy signing) {
        this.enrolled = Objects.requireNonNull(clients, "clients");
        this.acceptedSchemes = Set.copyOf(acceptedSchemes);
        this.maxUpdateBytes = maxUpdateBytes;
        if (maxExamples < 1) {
            throw new IllegalArgumentException("the example bound must be >= 1, got " + maxExamples);
        }
        this.maxExamples = maxExamples;
        this.signing = Objects.requireNonNull(signing, "signing");
    }

    /**
     * The signing policy's check on a header from a session with key {@code sessionKey}, before any other: under
     * SIGNED the header must announce the key and scheme its update is signed with (else BAD_SIGNATURE, as for a
     * missing signature); under UNSIGNED_BASELINE it must announce neither (a signed update is refused with
     * SCHEME_NOT_ACCEPTED: this federation accepts no update signature, and a signature nobody checks would
     * only look like assurance), and it is attributed to the session's key.
     *
     * @return the header naming the key the update is admitted by: the one it announces, or the session's
     */
    public UpdateHeader checkSigning(UpdateHeader h, KeyId sessionKey) throws RefusedException {
        return switch (signing) {
            case SIGNED -> {
                if (!h.announcesKey()) {
                    throw new RefusedException(RejectReason.BAD_SIGNATURE, "the update announces no key or scheme: it "
                            + "is unsigned, and this federation requires signed updates");
                }
                yield h;
            }
            case UNSIGNED_BASELINE -> {
                if (h.announcesKey()) {
                    throw new RefusedException(RejectReason.SCHEME_NOT_ACCEPTED, "the update announces " + h.scheme()
                            + " key " + h.keyId() + ", but this federation runs the unsigned baseline and accepts no "
                            + "update signatures: the client must run unsigned too");
                }
                var client = enrolled.find(h.clientId()).orElseThrow(() -> new RefusedException(
                        RejectReason.UNKNOWN_CLIENT, "client " + h.clientId() + " is not enrolled"));
                // The scheme of the enrolled key: if it is not the session's key any more, checkIdentity says so.
                yield h.attributedTo(sessionKey, client.key().scheme());
            }
        };
    }

    /**
     * Identity, round and shape checks on a header that names its key ({@link #checkSigning} first); returns the
     * client's enrolled key.
     */
    public VerifyingKey checkHeader(UpdateHeader h, RoundContext round) throws RefusedException {
        if (!h.announcesKey()) {
            throw new IllegalStateException("an unsigned header is checked once attributed to its session's key");
        }
        VerifyingKey key = checkIdentity(h.clientId(), h.keyId(), h.scheme());
        if (round == null) {
            throw new RefusedException(RejectReason.NO_OPEN_ROUND, "no round is open");
        }
        if (!round.federationId().equals(h.federationId())) {
            throw new RefusedException(RejectReason.WRONG_FEDERATION,
                    "update is for federation '" + h.federationId() + "', this is '" + round.federationId() + "'");
        }
        if (h.round() != round.round()) {
            throw new RefusedException(RejectReason.STALE_ROUND,
                    "update is for round " + h.round() + ", the open round is " + round.round());
        }
        if (!round.sampled().contains(h.clientId())) {
            throw new RefusedException(RejectReason.NOT_SAMPLED,
                    "client " + h.clientId() + " was not sampled for round " + round.round());
        }
        if (!round.nonce().equals(h.nonce())) {
            throw new RefusedException(RejectReason.NONCE_MISMATCH,
                    "nonce does not match round " + round.round() + "'s nonce");
        }
        if (!round.baseModelDigest().matches(h.baseModelDigest())) {
            throw new RefusedException(RejectReason.BASE_MODEL_MISMATCH,
                    "update was trained from model " + h.baseModelDigest() + ", the round's model is " + round.baseModelDigest());
        }
        if (!round.manifest().equals(h.manifest())) {
            throw new RefusedException(RejectReason.MANIFEST_MISMATCH, round.manifest().describeMismatch(h.manifest()));
        }
        long expected = round.manifest().totalBytes();
        if (expected > maxUpdateBytes || Long.compareUnsigned(h.declaredBytes(), maxUpdateBytes) > 0) {
            throw new RefusedException(RejectReason.TOO_LARGE, "update of " + Long.toUnsignedString(
                    Long.compareUnsigned(h.declaredBytes(), expected) > 0 ? h.declaredBytes() : expected)
                    + " bytes exceeds the limit of " + maxUpdateBytes);
        }
        if (h.declaredBytes() != 0 && h.declaredBytes() != expected) {
            throw new RefusedException(RejectReason.MALFORMED, "the header declares "
                    + Long.toUnsignedString(h.declaredBytes()) + " update bytes, the manifest describes " + expected);
        }
        if (h.numExamples() <= 0 || h.numExamples() > maxExamples) {
            throw new RefusedException(RejectReason.BAD_EXAMPLE_COUNT, "example count must be in 1.." + maxExamples
                    + " (this coordinator's bound per update), got " + Long.toUnsignedString(h.numExamples()));
        }
        return key;
    }

    /** The enrolled key of {@code clientId} (revoked or not; {@link #checkIdentity} checks that). */
    public VerifyingKey enrolledKey(ClientId clientId) throws RefusedException {
        return enrolled.find(clientId).orElseThrow(() -> new RefusedException(RejectReason.UNKNOWN_CLIENT,
                "client " + clientId + " is not enrolled")).key();
    }

    /** Known client, not revoked, key id and scheme as enrolled, scheme accepted by policy. */
    public VerifyingKey checkIdentity(ClientId clientId, KeyId keyId, SignatureScheme scheme) throws RefusedException {
        var client = enrolled.find(clientId).orElseThrow(() -> new RefusedException(RejectReason.UNKNOWN_CLIENT,
                "client " + clientId + " is not enrolled"));
        if (client.revoked()) {
            throw new RefusedException(RejectReason.REVOKED_KEY, "key " + client.key().keyId() + " of client "
                    + clientId + " is revoked");
        }
        if (!client.key().keyId().equals(keyId) || client.key().scheme() != scheme) {
            throw new RefusedException(RejectReason.KEY_MISMATCH, "client " + clientId + " presented key "
                    + keyId + " (" + scheme + "), its enrolled key is " + client.key().keyId() + " (" + client.key().scheme() + ")");
        }
        if (!acceptedSchemes.contains(scheme)) {
            throw new RefusedException(RejectReason.SCHEME_NOT_ACCEPTED,
                    "signature scheme " + scheme + " is not accepted by this federation's policy");
        }
        return client.key();
    }

    /**
     * The checks after the last byte: completeness, finiteness, then the signature over the statement
     * rebuilt from the header and the digest computed over the received bytes.
     */
    public VerifiedUpdate verify(UpdateHeader h, VerifyingKey key, PayloadDigest computedDigest, long receivedBytes,
                                 ModelWeights weights, SignatureValue signature) throws RefusedException {
        return verify(h, key, computedDigest, receivedBytes, weights, ModelWeights::firstNonFiniteTensor, signature);
    }

    /**
     * {@link #verify(UpdateHeader, VerifyingKey, PayloadDigest, long, ModelWeights, SignatureValue) verify} for the
     * upload that {@code received} took in: its digest, its byte count, and its values, which the receiver checked
     * for NaN and infinity while it decoded them, so that the model is not read once more for that.
     */
    public VerifiedUpdate verify(UpdateHeader h, VerifyingKey key, WeightsReceiver received, SignatureValue signature)
            throws RefusedException {
        return verify(h, key, received.digest(), received.receivedBytes(), received.isComplete() ? received.weights() : null,
                w -> received.firstNonFiniteTensor(), signature);
    }

    private VerifiedUpdate verify(UpdateHeader h, VerifyingKey key, PayloadDigest computedDigest, long receivedBytes,
                                  ModelWeights weights, ToIntFunction<ModelWeights> firstNonFinite,
                                  SignatureValue signature) throws RefusedException {
        // The client may have been revoked (or re-keyed) while it was uploading.
        checkIdentity(h.clientId(), h.keyId(), h.scheme());
        if (receivedBytes != h.manifest().totalBytes() || weights == null) {
            throw new RefusedException(RejectReason.INCOMPLETE,
                    "received " + receivedBytes + " of " + h.manifest().totalBytes() + " tensor bytes");
        }
        int bad = firstNonFinite.applyAsInt(weights);
        if (bad >= 0) {
            throw new RefusedException(RejectReason.NON_FINITE,
                    "tensor " + h.manifest().tensors().get(bad).name() + " contains NaN or infinity");
        }
        UpdateStatement statement = h.statement(computedDigest);
        return switch (signing) {
            case SIGNED -> {
                if (signature.length() == 0) {
                    throw new RefusedException(RejectReason.BAD_SIGNATURE, "the update carries no signature, and this "
                            + "federation requires signed updates");
                }
                yield checkSignature(statement, key, signature, weights);
            }
            case UNSIGNED_BASELINE -> {
                if (signature.length() != 0) {
                    throw new RefusedException(RejectReason.MALFORMED, "the update announces no scheme but carries "
                            + signature.length() + " signature bytes");
                }
                yield new VerifiedUpdate(statement, signature, weights);
            }
        };
    }

    /**
     * Re-verifies a stored update: its tensors must digest to the statement's digest and the signature must
     * verify (used when a restarted coordinator reloads the accepted updates of an unfinished round).
     */
    public VerifiedUpdate reverify(UpdateStatement statement, VerifyingKey key, SignatureValue signature,
                                   ModelWeights weights) throws RefusedException {
        if (!statement.updateDigest().matches(weights.digest())) {
            throw new RefusedException(RejectReason.MALFORMED, "stored tensors do not match the statement's digest");
        }
        return switch (signing) {
            case SIGNED -> checkSignature(statement, key, signature, weights);
            case UNSIGNED_BASELINE -> new VerifiedUpdate(statement, signature, weights);
        };
    }

    private static VerifiedUpdate checkSignature(UpdateStatement statement, VerifyingKey key, SignatureValue signature,
                                                 ModelWeights weights) throws RefusedException {
        try {
            Verifier.create(key).verify(statement.encode(), signature);
        } catch (SignatureVerificationException e) {
            throw new RefusedException(RejectReason.BAD_SIGNATURE, e.getMessage());
        }
        return new VerifiedUpdate(statement, signature, weights);
    }
}
