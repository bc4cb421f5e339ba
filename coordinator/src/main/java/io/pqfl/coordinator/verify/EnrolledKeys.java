package io.pqfl.coordinator.verify;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.TrustStore.TrustedClient;
import java.util.Optional;

/**
 * The one lookup {@link UpdateVerifier} needs: a client's enrolled key and whether it is revoked. The
 * coordinator's {@code identity.ClientDirectory} implements it over the trust directory and the admitted
 * certificates; a plain {@code TrustStore} fits too. It is an interface here rather than the directory itself
 * because the identity package already depends on this one (the Hello check reuses the verifier's).
 */
@FunctionalInterface
public interface EnrolledKeys {
    /** The client's current key and whether it is revoked; empty when the client is unknown. */
    Optional<TrustedClient> find(ClientId clientId);
}
