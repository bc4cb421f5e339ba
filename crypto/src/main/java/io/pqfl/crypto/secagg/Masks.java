package io.pqfl.crypto.secagg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The masks of secure aggregation: a 32-byte seed expanded with AES-256 in counter mode (zero IV, so one seed gives
 * one stream) into 64-bit words, read little-endian, added to or subtracted from a vector in the ring of integers
 * modulo 2^64 (Java's {@code long} arithmetic, which wraps).
 */
public final class Masks {
    private static final int BLOCK_WORDS = 4096;

    private Masks() {
    }

    /** {@code target[i] += sign * stream(seed)[i]} modulo 2^64 for every i; {@code sign} is +1 or -1. */
    public static void apply(long[] target, byte[] seed, int sign) {
        Objects.requireNonNull(target, "target");
        if (sign != 1 && sign != -1) {
            throw new IllegalArgumentException("sign must be +1 or -1");
        }
        if (seed.length != 32) {
            throw new IllegalArgumentException("a mask seed has 32 bytes, got " + seed.length);
        }
        Cipher aes;
        try {
            aes = Cipher.getInstance("AES/CTR/NoPadding");
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(seed, "AES"), new IvParameterSpec(new byte[16]));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-CTR is not available: " + e.getMessage(), e);
        }
        byte[] zeros = new byte[BLOCK_WORDS * 8];
        byte[] stream = new byte[BLOCK_WORDS * 8];
        for (int start = 0; start < target.length; start += BLOCK_WORDS) {
            int words = Math.min(BLOCK_WORDS, target.length - start);
            try {
                aes.update(zeros, 0, words * 8, stream, 0);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
            LongBuffer b = ByteBuffer.wrap(stream, 0, words * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
            if (sign > 0) {
                for (int i = 0; i < words; i++) {
                    target[start + i] += b.get(i);
                }
            } else {
                for (int i = 0; i < words; i++) {
                    target[start + i] -= b.get(i);
                }
            }
        }
    }

    /** The sign with which {@code self} adds its mask with {@code peer}: +1 when its id sorts first, else -1. */
    public static int pairSign(String self, String peer) {
        int c = self.compareTo(peer);
        if (c == 0) {
            throw new IllegalArgumentException("a client has no pairwise mask with itself");
        }
        return c < 0 ? 1 : -1;
    }

    /** The vector's bytes on the wire: little-endian 64-bit words. */
    public static byte[] toBytes(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return b.array();
    }

    /** The inverse of {@link #toBytes}. */
    public static long[] fromBytes(byte[] bytes) {
        if (bytes.length % 8 != 0) {
            throw new IllegalArgumentException("a masked vector is a whole number of 8-byte words, got " + bytes.length + " bytes");
        }
        long[] v = new long[bytes.length / 8];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
        return v;
    }
}
