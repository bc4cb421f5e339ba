package io.pqfl.crypto.secagg;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Objects;
import org.bouncycastle.crypto.threshold.ShamirSecretSplitter;
import org.bouncycastle.crypto.threshold.ShamirSplitSecret;
import org.bouncycastle.crypto.threshold.ShamirSplitSecretShare;

/**
 * Shamir secret sharing of a 32-byte seed over GF(2^8), byte by byte (Bouncy Castle's {@link ShamirSecretSplitter}
 * with the AES field polynomial): any {@code threshold} shares give the seed, fewer give nothing about it. Share
 * {@code i} (0-based) is the polynomial at {@code x = i + 1}, so at most 255 shares.
 */
public final class Shamir {
    public static final int MAX_SHARES = 255;
    private static final ShamirSecretSplitter.Algorithm FIELD = ShamirSecretSplitter.Algorithm.AES;
    private static final ShamirSecretSplitter.Mode MODE = ShamirSecretSplitter.Mode.Table;

    private Shamir() {
    }

    /** {@code count} shares of {@code secret}, any {@code threshold} of which reconstruct it. */
    public static byte[][] split(byte[] secret, int threshold, int count, SecureRandom random) {
        Objects.requireNonNull(secret, "secret");
        if (threshold < 1 || threshold > count || count > MAX_SHARES) {
            throw new IllegalArgumentException("cannot make " + count + " shares with threshold " + threshold
                    + " (need 1 <= threshold <= shares <= " + MAX_SHARES + ")");
        }
        ShamirSplitSecret split = new ShamirSecretSplitter(FIELD, MODE, secret.length, random).resplit(secret, threshold, count);
        ShamirSplitSecretShare[] shares = split.getSecretShares();
        byte[][] out = new byte[count][];
        try {
            for (int i = 0; i < count; i++) {
                out[i] = shares[i].getEncoded();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * The secret from shares keyed by their 1-based x coordinate. With fewer than the threshold, or any wrong share,
     * the result is a wrong secret, not an error: callers check it against a commitment.
     */
    public static byte[] combine(Map<Integer, byte[]> shares) {
        if (shares.isEmpty()) {
            throw new IllegalArgumentException("no shares");
        }
        ShamirSplitSecretShare[] s = new ShamirSplitSecretShare[shares.size()];
        int i = 0;
        int length = -1;
        for (Map.Entry<Integer, byte[]> e : shares.entrySet()) {
            int x = e.getKey();
            if (x < 1 || x > MAX_SHARES) {
                throw new IllegalArgumentException("share index " + x + " is outside 1.." + MAX_SHARES);
            }
            if (length >= 0 && e.getValue().length != length) {
                throw new IllegalArgumentException("shares of different lengths");
            }
            length = e.getValue().length;
            s[i++] = new ShamirSplitSecretShare(e.getValue().clone(), x);
        }
        try {
            return new ShamirSplitSecret(FIELD, MODE, s).getSecret();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
