package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import java.util.Objects;

/**
 * The claims an update makes before its tensors: which federation, round and nonce it answers, which client
 * and key send it, which global model it was trained from, its manifest, its example count and its declared
 * size. {@link WireMapping} decodes and encodes it; {@link #statement} is the one mapping from these claims
 * to the {@link UpdateStatement} that the client signs and the coordinator verifies.
 *
 * <p>{@code keyId} and {@code scheme} are both present or both null: a signed update announces the key and scheme
 * it is signed with; an update of the unsigned baseline ({@link SigningPolicy#UNSIGNED_BASELINE}) announces
 * neither ({@link #announcesKey()} is false), and the coordinator attributes it to its session's key
 * ({@link #attributedTo}).
 *
 * <p>Nothing here is checked against a round: a header that names another round or federation is still a
 * header (the coordinator refuses it with its own reason).
 */
public record UpdateHeader(String federationId, long round, RoundNonce nonce, ClientId clientId, KeyId keyId,
                           SignatureScheme scheme, PayloadDigest baseModelDigest, ModelManifest manifest,
                           long numExamples, long declaredBytes) {
    public UpdateHeader {
        Objects.requireNonNull(federationId, "federationId");
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(clientId, "clientId");
        if ((keyId == null) != (scheme == null)) {
            throw new IllegalArgumentException("an update header announces its key id and scheme together, or neither "
                    + "(unsigned); got " + (keyId == null ? "a scheme without a key id" : "a key id without a scheme"));
        }
        Objects.requireNonNull(baseModelDigest, "baseModelDigest");
        Objects.requireNonNull(manifest, "manifest");
    }

    /** Whether the header names the key and scheme its update is signed with (false: the unsigned baseline). */
    public boolean announcesKey() {
        return keyId != null;
    }

    /**
     * This header, attributed to a key it did not announce: what the coordinator of the unsigned baseline records,
     * with the key its session proved at Hello.
     *
     * @throws IllegalStateException when the header announces a key of its own
     */
    public UpdateHeader attributedTo(KeyId key, SignatureScheme keyScheme) {
        if (announcesKey()) {
            throw new IllegalStateException("the header announces key " + keyId + " itself");
        }
        return new UpdateHeader(federationId, round, nonce, clientId, Objects.requireNonNull(key, "key"),
                Objects.requireNonNull(keyScheme, "keyScheme"), baseModelDigest, manifest, numExamples, declaredBytes);
    }

    /**
     * The statement for an update with these claims whose tensors digest to {@code updateDigest}: what the
     * client signs, and what the coordinator verifies with the digest it computed itself over the bytes it
     * received.
     *
     * @throws IllegalStateException when the header names no key (an unsigned header not yet {@link #attributedTo attributed})
     */
    public UpdateStatement statement(PayloadDigest updateDigest) {
        if (!announcesKey()) {
            throw new IllegalStateException("an update header that names no key makes no statement");
        }
        return new UpdateStatement(federationId, round, nonce, baseModelDigest, clientId, keyId, scheme, updateDigest,
                numExamples);
    }
}
