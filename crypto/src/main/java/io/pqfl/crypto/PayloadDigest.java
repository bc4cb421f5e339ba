package io.pqfl.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The SHA-512 digest of a payload (a model update, a global model). Statements carry this digest and the
 * scheme signs the statement, so a payload of any size is signed without being held in memory twice.
 *
 * <p>Why SHA-512: a signature over a digest is only as strong as the digest's collision resistance, and
 * SHA-512's (2^256 classically) matches the highest NIST category pqfl signs at (5, ML-DSA-87 /
 * SLH-DSA-256 / Falcon-1024); SHA-256's collision resistance is only category 2. On x86-64 the JDK's
 * SHA-512 is hardware-accelerated and the fastest 512-bit hash available (see {@code docs/CRYPTO.md}).
 */
public final class PayloadDigest {
    public static final int BYTES = 64;

    private final byte[] bytes;

    private PayloadDigest(byte[] bytes) {
        this.bytes = bytes;
    }

    public static PayloadDigest ofBytes(byte[] digest) {
        Objects.requireNonNull(digest, "digest");
        if (digest.length != BYTES) {
            throw new IllegalArgumentException("a payload digest has " + BYTES + " bytes, got " + digest.length);
        }
        return new PayloadDigest(digest.clone());
    }

    public static PayloadDigest ofHex(String hex) {
        return ofBytes(HexFormat.of().parseHex(hex));
    }

    /** Digest of a byte array in one call. */
    public static PayloadDigest of(byte[] payload) {
        PayloadHasher hasher = new PayloadHasher();
        hasher.update(payload);
        return hasher.finish();
    }

    /** Digest of a stream, read once in 64 KiB chunks; the stream is not closed. */
    public static PayloadDigest of(InputStream in) throws IOException {
        PayloadHasher hasher = new PayloadHasher();
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            hasher.update(buffer, 0, n);
        }
        return hasher.finish();
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    /** Constant-time comparison. */
    public boolean matches(PayloadDigest other) {
        return other != null && MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PayloadDigest other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "sha512:" + hex().substring(0, 16) + "...";
    }
}
