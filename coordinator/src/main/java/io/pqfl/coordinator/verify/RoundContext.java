package io.pqfl.coordinator.verify;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.RoundNonce;
import java.util.Objects;
import java.util.Set;

/** What an update for the currently open round must match. */
public record RoundContext(String federationId, long round, RoundNonce nonce, PayloadDigest baseModelDigest,
                           ModelManifest manifest, Set<ClientId> sampled) {
    public RoundContext {
        Objects.requireNonNull(federationId, "federationId");
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(baseModelDigest, "baseModelDigest");
        Objects.requireNonNull(manifest, "manifest");
        sampled = Set.copyOf(sampled);
    }
}
