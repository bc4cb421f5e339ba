package io.pqfl.crypto;

import java.security.MessageDigest;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHAKEDigest;

/**
 * Checks an ML-DSA private key that arrives in FIPS 204's expanded form only (skEncode: rho || K || tr || s1 ||
 * s2 || t0, no seed; the form the JDK writes). A key that carries its seed needs none of this, since every part
 * is then derived from the seed. Without the seed, nothing ties the parts together: FIPS 204's signing bound
 * (beta = tau * eta) assumes every coefficient of s1 and s2 lies in [-eta, eta], and tr must be SHAKE256 of
 * the public key, as every verifier computes it.
 */
final class MlDsaExpandedKeyCheck {
    private static final int SEED_BYTES = 32;
    private static final int TR_BYTES = 64;
    private static final int TR_OFFSET = 2 * SEED_BYTES;
    private static final int S1_OFFSET = TR_OFFSET + TR_BYTES;
    private static final int COEFFICIENTS = 256;
    private static final int T0_POLY_BYTES = COEFFICIENTS * 13 / 8;

    /** FIPS 204 table 1: k x l matrix, and the bound eta on the coefficients of s1 and s2. */
    private record Shape(int k, int l, int eta) {
        /** bitlen(2 * eta): s1 and s2 are packed as eta - coefficient, in this many bits each. */
        int bits() {
            return 32 - Integer.numberOfLeadingZeros(2 * eta);
        }

        int polyBytes() {
            return COEFFICIENTS * bits() / 8;
        }

        int length() {
            return S1_OFFSET + (l + k) * polyBytes() + k * T0_POLY_BYTES;
        }
    }

    private MlDsaExpandedKeyCheck() {
    }

    /**
     * @param expanded the expanded private key (skEncode)
     * @param publicKey the raw public key (pkEncode: rho || t1) that belongs to it
     * @throws KeyFormatException naming what is wrong, when FIPS 204 calls the key invalid
     */
    static void check(SignatureScheme scheme, byte[] expanded, byte[] publicKey) throws KeyFormatException {
        Shape shape = shape(scheme);
        String prefix = scheme + " private key: ";
        if (expanded.length != shape.length()) {
            throw new KeyFormatException(prefix + "the expanded key has " + expanded.length + " bytes, expected "
                    + shape.length());
        }
        String range = " coefficient out of range [-" + shape.eta() + ", " + shape.eta() + "]";
        if (!coefficientsWithinEta(expanded, S1_OFFSET, shape.l(), shape)) {
            throw new KeyFormatException(prefix + "s1" + range);
        }
        if (!coefficientsWithinEta(expanded, S1_OFFSET + shape.l() * shape.polyBytes(), shape.k(), shape)) {
            throw new KeyFormatException(prefix + "s2" + range);
        }
        byte[] tr = new byte[TR_BYTES];
        SHAKEDigest shake = new SHAKEDigest(256);
        shake.update(publicKey, 0, publicKey.length);
        shake.doFinal(tr, 0, TR_BYTES);
        byte[] declared = Arrays.copyOfRange(expanded, TR_OFFSET, TR_OFFSET + TR_BYTES);
        if (!MessageDigest.isEqual(tr, declared)) {
            throw new KeyFormatException(prefix + "tr is not SHAKE256 of the key's public key");
        }
    }

    private static Shape shape(SignatureScheme scheme) {
        return switch (scheme) {
            case ML_DSA_44 -> new Shape(4, 4, 2);
            case ML_DSA_65 -> new Shape(6, 5, 4);
            case ML_DSA_87 -> new Shape(8, 7, 2);
            default -> throw new IllegalArgumentException(scheme + " is not an ML-DSA scheme");
        };
    }

    /**
     * Whether all {@code polys} packed polynomials from {@code offset} decode into [-eta, eta] (FIPS 204
     * BitUnpack, least significant bit first). Every coefficient is examined, without an early exit, so the
     * time taken does not depend on the secret values.
     */
    private static boolean coefficientsWithinEta(byte[] key, int offset, int polys, Shape shape) {
        int bits = shape.bits();
        int mask = (1 << bits) - 1;
        int outOfRange = 0;
        long buffer = 0;
        int buffered = 0;
        int next = offset;
        for (int i = 0; i < polys * COEFFICIENTS; i++) {
            if (buffered < bits) {
                buffer |= (long) (key[next++] & 0xff) << buffered;
                buffered += 8;
            }
            int packed = (int) (buffer & mask);
            buffer >>>= bits;
            buffered -= bits;
            // The coefficient is eta - packed; it is below -eta exactly when packed > 2 * eta.
            outOfRange |= (2 * shape.eta() - packed) >>> 31;
        }
        return outOfRange == 0;
    }
}
