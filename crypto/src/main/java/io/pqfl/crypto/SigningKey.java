package io.pqfl.crypto;

import java.security.PrivateKey;
import java.util.Objects;

/**
 * A private key together with its {@link VerifyingKey}. {@link #toString()} never shows key bytes.
 * Obtain one from {@link Keys#generate} or {@link KeyPem#readSigningKey}.
 */
public final class SigningKey {
    private final VerifyingKey verifyingKey;
    private final PrivateKey jcaKey;

    SigningKey(VerifyingKey verifyingKey, PrivateKey jcaKey) {
        this.verifyingKey = Objects.requireNonNull(verifyingKey, "verifyingKey");
        this.jcaKey = Objects.requireNonNull(jcaKey, "jcaKey");
    }

    public SignatureScheme scheme() {
        return verifyingKey.scheme();
    }

    public KeyId keyId() {
        return verifyingKey.keyId();
    }

    public VerifyingKey verifyingKey() {
        return verifyingKey;
    }

    /**
     * The JCA private key, for integrations that need one (certificate signing, TLS key managers). pqfl's own
     * signatures go through {@link Signer}.
     */
    public PrivateKey toJca() {
        return jcaKey;
    }

    @Override
    public String toString() {
        return "SigningKey[" + scheme() + ", id=" + keyId() + "]";
    }
}
