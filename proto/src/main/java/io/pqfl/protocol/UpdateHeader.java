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
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(baseModelDigest, "baseModelDigest");
        Objects.requireNonNull(manifest, "manifest");
    }

    /**
     * The statement for an update with these claims whose tensors digest to {@code updateDigest}: what the
     * client signs, and what the coordinator verifies with the digest it computed itself over the bytes it
     * received.
     */
    public UpdateStatement statement(PayloadDigest updateDigest) {
        return new UpdateStatement(federationId, round, nonce, baseModelDigest, clientId, keyId, scheme, updateDigest,
                numExamples);
    }
}
