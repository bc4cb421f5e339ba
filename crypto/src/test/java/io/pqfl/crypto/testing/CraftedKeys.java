package io.pqfl.crypto.testing;

import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.misc.MiscObjectIdentifiers;
import org.bouncycastle.asn1.misc.ScryptParams;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.EncryptedPrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.EncryptionScheme;
import org.bouncycastle.asn1.pkcs.KeyDerivationFunc;
import org.bouncycastle.asn1.pkcs.PBES2Parameters;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.crypto.digests.SHAKEDigest;
import org.bouncycastle.crypto.generators.SCrypt;
import org.bouncycastle.crypto.params.MLDSAPrivateKeyParameters;
import org.bouncycastle.crypto.signers.mldsa.MLDSAEngine;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.jcajce.interfaces.MLDSAPrivateKey;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.util.Arrays;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Key files that pqfl never writes itself, built byte by byte: ML-DSA keys in the expanded-only form (valid,
 * and invalid in ways Bouncy Castle does not notice), and encrypted keys with whatever encryption parameters
 * a test asks for, hostile ones included.
 */
public final class CraftedKeys {
    private static final SecureRandom RANDOM = new SecureRandom();

    private CraftedKeys() {
    }

    /** One PEM block. */
    public static String pem(String type, byte[] der) {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(new PemObject(type, der));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    // ---- ML-DSA without its seed ----

    /** Which secret vector {@link #expandedOnlyWithCoefficientOutOfRange} spoils. */
    public enum SecretVector { S1, S2 }

    /**
     * The PKCS#8 PEM of an ML-DSA key in FIPS 204's expanded form only (an OCTET STRING holding skEncode, no
     * seed), as the JDK writes it; made by Bouncy Castle, whose keys otherwise carry their seed as well.
     */
    public static String expandedOnly(SigningKey mlDsaKey) {
        MLDSAPrivateKey bc = (MLDSAPrivateKey) mlDsaKey.toJca();
        return pem("PRIVATE KEY", bc.getPrivateKey(false).getEncoded());
    }

    /** PKCS#8 PEM of whatever {@code expanded} holds, as an expanded-only {@code scheme} private key. */
    public static String expandedOnly(SignatureScheme scheme, byte[] expanded) {
        try {
            return pem("PRIVATE KEY", new PrivateKeyInfo(BcAlgorithms.keyAlgorithmIdentifier(scheme),
                    new DEROctetString(expanded)).getEncoded());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The key's FIPS 204 expanded private key (skEncode: rho || K || tr || s1 || s2 || t0). */
    public static byte[] expanded(SigningKey mlDsaKey) {
        return ((MLDSAPrivateKey) mlDsaKey.toJca()).getPrivateData();
    }

    /**
     * Like {@link #expandedOnly}, but the first coefficient of s1 or s2 decodes outside [-eta, eta], while the
     * key stays otherwise consistent: t1 and tr are recomputed from the spoiled vector, so that Bouncy
     * Castle's own check (tr = SHAKE256(rho || t1)) passes and only a FIPS 204 range check can tell.
     */
    public static String expandedOnlyWithCoefficientOutOfRange(SigningKey mlDsaKey, SecretVector which) {
        try {
            var key = (MLDSAPrivateKeyParameters) PrivateKeyFactory.createKey(
                    PrivateKeyInfo.getInstance(mlDsaKey.toJca().getEncoded()));
            byte[] s1 = key.getS1();
            byte[] s2 = key.getS2();
            // Coefficients are packed as eta - c, least significant bit first, in 3 bits (eta = 2) or 4 bits
            // (eta = 4); all ones in the low bits makes the first one eta - 7 or eta - 15, below -eta for both.
            (which == SecretVector.S1 ? s1 : s2)[0] = (byte) 0xff;
            byte[] rho = key.getRho();
            byte[] t1 = MLDSAEngine.getInstance(key.getParameters(), null)
                    .deriveT1(rho, key.getK(), key.getTr(), s1, s2, key.getT0());
            byte[] tr = new byte[64];
            SHAKEDigest shake = new SHAKEDigest(256);
            byte[] publicKey = Arrays.concatenate(rho, t1);
            shake.update(publicKey, 0, publicKey.length);
            shake.doFinal(tr, 0, tr.length);
            var spoiled = new MLDSAPrivateKeyParameters(key.getParameters(), rho, key.getK(), tr, s1, s2, key.getT0(), t1);
            return pem("PRIVATE KEY", PrivateKeyInfoFactory.createPrivateKeyInfo(spoiled).getEncoded());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- encrypted private keys ----

    /** PBKDF2's parameters, with an iteration count (and key length) of any size, even beyond an int. */
    public static KeyDerivationFunc pbkdf2(BigInteger iterations, BigInteger keyLength, ASN1ObjectIdentifier prf) {
        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(new DEROctetString(randomBytes(16)));
        v.add(new ASN1Integer(iterations));
        if (keyLength != null) {
            v.add(new ASN1Integer(keyLength));
        }
        v.add(new AlgorithmIdentifier(prf, DERNull.INSTANCE));
        return new KeyDerivationFunc(PKCSObjectIdentifiers.id_PBKDF2, new DERSequence(v));
    }

    public static KeyDerivationFunc pbkdf2(long iterations) {
        return pbkdf2(BigInteger.valueOf(iterations), null, PKCSObjectIdentifiers.id_hmacWithSHA256);
    }

    public static KeyDerivationFunc scrypt(long n, long r, long p) {
        return new KeyDerivationFunc(MiscObjectIdentifiers.id_scrypt, new ScryptParams(randomBytes(16),
                BigInteger.valueOf(n), BigInteger.valueOf(r), BigInteger.valueOf(p), null));
    }

    /** PBES2 with {@code kdf} and {@code cipher} (an AES-CBC OID, or any other). */
    public static AlgorithmIdentifier pbes2(KeyDerivationFunc kdf, ASN1ObjectIdentifier cipher) {
        return new AlgorithmIdentifier(PKCSObjectIdentifiers.id_PBES2,
                new PBES2Parameters(kdf, new EncryptionScheme(cipher, new DEROctetString(randomBytes(16)))));
    }

    /**
     * An {@code ENCRYPTED PRIVATE KEY} declaring {@code encryption}, over random bytes: it never decrypts, so it
     * only tells what a reader does before it derives a key.
     */
    public static String encryptedPem(AlgorithmIdentifier encryption) {
        try {
            return pem("ENCRYPTED PRIVATE KEY", new EncryptedPrivateKeyInfo(encryption, randomBytes(64)).getEncoded());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code key} really encrypted with PBES2 / scrypt / AES-256-CBC (as {@code openssl pkcs8 -topk8 -scrypt}
     * writes it), the password taken as UTF-8.
     */
    public static String scryptEncrypted(SigningKey key, char[] password, int n, int r, int p) {
        byte[] salt = randomBytes(16);
        byte[] iv = randomBytes(16);
        byte[] aesKey = SCrypt.generate(new String(password).getBytes(StandardCharsets.UTF_8), salt, n, r, p, 32);
        try {
            Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(iv));
            byte[] ciphertext = cipher.doFinal(key.toJca().getEncoded());
            AlgorithmIdentifier encryption = new AlgorithmIdentifier(PKCSObjectIdentifiers.id_PBES2, new PBES2Parameters(
                    new KeyDerivationFunc(MiscObjectIdentifiers.id_scrypt, new ScryptParams(salt, n, r, p, 32)),
                    new EncryptionScheme(NISTObjectIdentifiers.id_aes256_CBC, new DEROctetString(iv))));
            return pem("ENCRYPTED PRIVATE KEY", new EncryptedPrivateKeyInfo(encryption, ciphertext).getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has AES-CBC", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code key} encrypted the way pqfl does, but with the given cipher, PRF and iteration count. */
    public static String pbkdf2Encrypted(SigningKey key, char[] password, ASN1ObjectIdentifier cipher,
            AlgorithmIdentifier prf, int iterations) {
        try {
            OutputEncryptor encryptor = new JceOpenSSLPKCS8EncryptorBuilder(cipher)
                    .setProvider(BcAlgorithms.bouncyCastle()).setRandom(RANDOM).setPRF(prf).setIterationCount(iterations).setPassword(password).build();
            StringWriter out = new StringWriter();
            try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
                writer.writeObject(new JcaPKCS8Generator(key.toJca(), encryptor).generate());
            }
            return out.toString();
        } catch (OperatorCreationException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
