package io.pqfl.protocol;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/** The coordinator's fresh random 32 bytes for one round; bound into every update statement of that round. */
public final class RoundNonce {
    public static final int BYTES = 32;
    private final byte[] bytes;

    private RoundNonce(byte[] bytes) {
        this.bytes = bytes;
    }

    public static RoundNonce random(SecureRandom random) {
        byte[] b = new byte[BYTES];
        random.nextBytes(b);
        return new RoundNonce(b);
    }

    public static RoundNonce of(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a round nonce has " + BYTES + " bytes, got " + bytes.length);
        }
        return new RoundNonce(bytes.clone());
    }

    public static RoundNonce ofHex(String hex) {
        return of(HexFormat.of().parseHex(hex));
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoundNonce other && java.security.MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return hex().substring(0, 12) + "...";
    }
}
