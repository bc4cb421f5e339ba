package io.pqfl.coordinator.verify;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.TrustStore.TrustedClient;
import java.util.Optional;

/** Where the verifier looks up a client's enrolled key: the trust directory, certificates, or both. */
@FunctionalInterface
public interface ClientKeys {
    /** The client's current key and whether it is revoked; empty when the client is unknown. */
    Optional<TrustedClient> find(ClientId clientId);
}
