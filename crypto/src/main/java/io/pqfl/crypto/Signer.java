package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.Objects;

/**
 * Signs small messages (pqfl's canonical statements, which carry a digest of the large payload) with one key.
 *
 * <p>ML-DSA and SLH-DSA are used in their pure form with the empty context string, deterministically, so any
 * FIPS 204 / 205 implementation verifies a pqfl signature; Falcon and ECDSA sign with fresh randomness. The
 * signer never needs a payload in memory: callers sign a statement that carries the payload's
 * {@link PayloadDigest}. Thread-safe.
 */
public final class Signer {
    /** Statements are a few hundred bytes; this bound catches a caller passing a whole payload by mistake. */
    public static final int MAX_MESSAGE_BYTES = 1 << 20;

    private final SigningKey key;
    private final Provider provider;
    private final SecureRandom random;

    private Signer(SigningKey key, Provider provider, SecureRandom random) {
        this.key = key;
        this.provider = provider;
        this.random = random;
    }

    public static Signer create(SigningKey key) {
        return create(key, BcAlgorithms.bouncyCastle(), new SecureRandom());
    }

    public static Signer create(SigningKey key, Provider provider, SecureRandom random) {
        return new Signer(Objects.requireNonNull(key, "key"), Objects.requireNonNull(provider, "provider"),
                Objects.requireNonNull(random, "random"));
    }

    public SignatureScheme scheme() {
        return key.scheme();
    }

    public KeyId keyId() {
        return key.keyId();
    }

    public VerifyingKey verifyingKey() {
        return key.verifyingKey();
    }

    public SignatureValue sign(byte[] message) {
        Objects.requireNonNull(message, "message");
        if (message.length > MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("message of " + message.length + " bytes: sign a statement carrying"
                    + " the payload's digest, not the payload (limit " + MAX_MESSAGE_BYTES + " bytes)");
        }
        try {
            Signature signature = BcAlgorithms.signature(key.scheme(), provider);
            if (key.scheme().isDeterministic()) {
                signature.initSign(key.toJca());
            } else {
                signature.initSign(key.toJca(), random);
            }
            signature.update(message);
            return SignatureValue.of(key.scheme(), signature.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing with " + key + " failed", e);
        }
    }

    @Override
    public String toString() {
        return "Signer[" + key.scheme() + ", id=" + key.keyId() + "]";
    }
}
