package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.Objects;

/** Key generation. */
public final class Keys {
    private Keys() {
    }

    /** Generates a key pair with Bouncy Castle and a fresh {@link SecureRandom}. */
    public static SigningKey generate(SignatureScheme scheme) {
        return generate(scheme, BcAlgorithms.bouncyCastle(), new SecureRandom());
    }

    /** Generates a key pair with the given provider and randomness source. */
    public static SigningKey generate(SignatureScheme scheme, Provider provider, SecureRandom random) {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(random, "random");
        try {
            KeyPair pair = BcAlgorithms.keyPairGenerator(scheme, provider, random).generateKeyPair();
            return new SigningKey(VerifyingKey.fromJca(pair.getPublic()), pair.getPrivate());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("provider " + provider.getName() + " cannot generate " + scheme + " keys", e);
        }
    }
}
