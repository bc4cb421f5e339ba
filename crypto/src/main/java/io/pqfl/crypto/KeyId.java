package io.pqfl.crypto;

import java.util.HexFormat;
import java.util.Objects;

/**
 * A stable fingerprint of a public key: the first 16 bytes of SHA-256 over the key's DER-encoded X.509
 * SubjectPublicKeyInfo, as 32 lower-case hex characters. The encoding names the algorithm, so two schemes
 * can never share a key id.
 */
public record KeyId(String hex) {
    public static final int BYTES = 16;

    public KeyId {
        Objects.requireNonNull(hex, "hex");
        if (hex.length() != BYTES * 2 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new IllegalArgumentException("a key id is " + (BYTES * 2) + " lower-case hex characters, got '" + hex + "'");
        }
    }

    public static KeyId ofBytes(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a key id is " + BYTES + " bytes, got " + bytes.length);
        }
        return new KeyId(HexFormat.of().formatHex(bytes));
    }

    public byte[] toBytes() {
        return HexFormat.of().parseHex(hex);
    }

    @Override
    public String toString() {
        return hex;
    }
}
