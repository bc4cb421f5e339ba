package io.pqfl.crypto;

import java.math.BigInteger;
import java.util.Locale;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.misc.MiscObjectIdentifiers;
import org.bouncycastle.asn1.misc.ScryptParams;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.EncryptionScheme;
import org.bouncycastle.asn1.pkcs.KeyDerivationFunc;
import org.bouncycastle.asn1.pkcs.PBES2Parameters;
import org.bouncycastle.asn1.pkcs.PBKDF2Params;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/**
 * The password-based encryption an {@code ENCRYPTED PRIVATE KEY} may declare, checked before anything is
 * derived from the password. The key derivation's cost travels in the file, unauthenticated: unchecked, a
 * hostile key file could ask for billions of PBKDF2 iterations or gigabytes of scrypt memory and stall
 * whatever opens it. The bounds hold pqfl's own choice (PBES2, PBKDF2-HMAC-SHA256, 600,000 iterations,
 * AES-256-CBC), OpenSSL's defaults and stronger settings; everything else is refused as a format error,
 * whatever the password.
 */
final class KeyEncryptionBounds {
    static final long MIN_PBKDF2_ITERATIONS = 1_000;
    static final long MAX_PBKDF2_ITERATIONS = 10_000_000;
    static final long MAX_SCRYPT_N = 1L << 20;
    static final long MAX_SCRYPT_R = 32;
    static final long MAX_SCRYPT_P = 16;
    /** scrypt's working memory, N * r * 128 bytes (RFC 7914). */
    static final long MAX_SCRYPT_MEMORY = 1L << 30;

    private static final String PREFIX = "encrypted private key: ";
    private static final int AES_BLOCK_BYTES = 16;

    private record Cipher(String name, int keyBytes) {
    }

    private static final Map<ASN1ObjectIdentifier, Cipher> CIPHERS = Map.of(
            NISTObjectIdentifiers.id_aes128_CBC, new Cipher("AES-128-CBC", 16),
            NISTObjectIdentifiers.id_aes192_CBC, new Cipher("AES-192-CBC", 24),
            NISTObjectIdentifiers.id_aes256_CBC, new Cipher("AES-256-CBC", 32));

    // HMAC-SHA1 is PBKDF2's default PRF and what older OpenSSL versions wrote.
    private static final Map<ASN1ObjectIdentifier, String> PRFS = Map.of(
            PKCSObjectIdentifiers.id_hmacWithSHA1, "HMAC-SHA1",
            PKCSObjectIdentifiers.id_hmacWithSHA256, "HMAC-SHA256",
            PKCSObjectIdentifiers.id_hmacWithSHA384, "HMAC-SHA384",
            PKCSObjectIdentifiers.id_hmacWithSHA512, "HMAC-SHA512");

    private KeyEncryptionBounds() {
    }

    /** Refuses {@code algorithm} (an EncryptedPrivateKeyInfo's) unless pqfl supports it within the bounds. */
    static void check(AlgorithmIdentifier algorithm) throws KeyFormatException {
        if (!PKCSObjectIdentifiers.id_PBES2.equals(algorithm.getAlgorithm())) {
            throw new KeyFormatException(PREFIX + "encrypted with algorithm " + algorithm.getAlgorithm()
                    + ", not PBES2; pqfl reads PBES2 with PBKDF2 or scrypt and AES-CBC");
        }
        try {
            PBES2Parameters pbes2 = PBES2Parameters.getInstance(algorithm.getParameters());
            Cipher cipher = checkCipher(pbes2.getEncryptionScheme());
            KeyDerivationFunc kdf = pbes2.getKeyDerivationFunc();
            if (PKCSObjectIdentifiers.id_PBKDF2.equals(kdf.getAlgorithm())) {
                checkPbkdf2(PBKDF2Params.getInstance(kdf.getParameters()), cipher);
            } else if (MiscObjectIdentifiers.id_scrypt.equals(kdf.getAlgorithm())) {
                checkScrypt(ScryptParams.getInstance(kdf.getParameters()), cipher);
            } else {
                throw new KeyFormatException(PREFIX + "key derivation function " + kdf.getAlgorithm()
                        + " is not supported; pqfl reads PBKDF2 and scrypt");
            }
        } catch (RuntimeException e) {
            // Bouncy Castle's ASN.1 classes throw IllegalArgumentException, ClassCastException or
            // NullPointerException on a malformed structure; none of those says anything useful.
            throw new KeyFormatException(PREFIX + "its PBES2 parameters do not decode", e);
        }
    }

    private static Cipher checkCipher(EncryptionScheme scheme) throws KeyFormatException {
        Cipher cipher = CIPHERS.get(scheme.getAlgorithm());
        if (cipher == null) {
            throw new KeyFormatException(PREFIX + "cipher " + scheme.getAlgorithm()
                    + " is not supported; pqfl reads AES-128-CBC, AES-192-CBC and AES-256-CBC");
        }
        ASN1Encodable iv = scheme.getParameters();
        if (!(iv instanceof ASN1OctetString octets) || octets.getOctets().length != AES_BLOCK_BYTES) {
            throw new KeyFormatException(PREFIX + cipher.name() + " needs a " + AES_BLOCK_BYTES + "-byte IV");
        }
        return cipher;
    }

    private static void checkPbkdf2(PBKDF2Params params, Cipher cipher) throws KeyFormatException {
        String prf = PRFS.get(params.getPrf().getAlgorithm());
        if (prf == null) {
            throw new KeyFormatException(PREFIX + "PBKDF2 pseudo-random function " + params.getPrf().getAlgorithm()
                    + " is not supported; pqfl reads " + String.join(", ", PRFS.values().stream().sorted().toList()));
        }
        requireWithin("PBKDF2 iteration count", params.getIterationCount(), MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS);
        requireKeyLength("PBKDF2", params.getKeyLength(), cipher);
    }

    private static void checkScrypt(ScryptParams params, Cipher cipher) throws KeyFormatException {
        BigInteger n = params.getCostParameter();
        if (n.signum() <= 0 || n.bitCount() != 1) {
            throw new KeyFormatException(PREFIX + "scrypt cost N " + grouped(n) + " is not a power of two");
        }
        requireWithin("scrypt cost N", n, 2, MAX_SCRYPT_N);
        requireWithin("scrypt block size r", params.getBlockSize(), 1, MAX_SCRYPT_R);
        requireWithin("scrypt parallelisation p", params.getParallelizationParameter(), 1, MAX_SCRYPT_P);
        long memory = n.longValueExact() * params.getBlockSize().longValueExact() * 128;
        if (memory > MAX_SCRYPT_MEMORY) {
            throw new KeyFormatException(PREFIX + "scrypt would need N * r * 128 = " + grouped(memory)
                    + " bytes of memory; pqfl allows at most " + grouped(MAX_SCRYPT_MEMORY) + " (1 GiB)");
        }
        requireKeyLength("scrypt", params.getKeyLength(), cipher);
    }

    private static void requireWithin(String what, BigInteger value, long min, long max) throws KeyFormatException {
        if (value.compareTo(BigInteger.valueOf(min)) < 0 || value.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new KeyFormatException(PREFIX + what + " " + grouped(value) + " is out of range; pqfl accepts "
                    + grouped(min) + " to " + grouped(max));
        }
    }

    // An optional field; when present, it must be the cipher's key size (a huge one would only make the KDF
    // produce, and pay for, output that nothing uses).
    private static void requireKeyLength(String kdf, BigInteger keyLength, Cipher cipher) throws KeyFormatException {
        if (keyLength != null && !keyLength.equals(BigInteger.valueOf(cipher.keyBytes()))) {
            throw new KeyFormatException(PREFIX + kdf + " key length " + grouped(keyLength) + " bytes does not match "
                    + cipher.name() + "'s " + cipher.keyBytes() + "-byte key");
        }
    }

    private static String grouped(Object number) {
        return String.format(Locale.ROOT, "%,d", number);
    }
}
