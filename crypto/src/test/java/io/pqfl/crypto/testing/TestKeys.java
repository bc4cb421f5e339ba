package io.pqfl.crypto.testing;

import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shared test fixtures: one key pair (and two for "wrong key" cases) per scheme, and one signature per
 * scheme over {@link #MESSAGE}, generated once per JVM because SLH-DSA "s" signing takes about a second.
 */
public final class TestKeys {
    public static final byte[] MESSAGE = "pqfl test statement: round 7, digest 00ff".getBytes(StandardCharsets.UTF_8);

    private static final Map<SignatureScheme, SigningKey> KEYS = new ConcurrentHashMap<>();
    private static final Map<SignatureScheme, SigningKey> OTHER_KEYS = new ConcurrentHashMap<>();
    private static final Map<SignatureScheme, SignatureValue> SIGNATURES = new ConcurrentHashMap<>();

    private TestKeys() {
    }

    public static SigningKey key(SignatureScheme scheme) {
        return KEYS.computeIfAbsent(scheme, Keys::generate);
    }

    /** A second, independent key of the same scheme. */
    public static SigningKey otherKey(SignatureScheme scheme) {
        return OTHER_KEYS.computeIfAbsent(scheme, Keys::generate);
    }

    /** {@code key(scheme)}'s signature over {@link #MESSAGE}. */
    public static SignatureValue signature(SignatureScheme scheme) {
        return SIGNATURES.computeIfAbsent(scheme, s -> Signer.create(key(s)).sign(MESSAGE));
    }

    /** A copy of {@code bytes} with one bit flipped at {@code index}. */
    public static byte[] flip(byte[] bytes, int index) {
        byte[] copy = bytes.clone();
        copy[index] ^= 0x01;
        return copy;
    }
}
