package io.pqfl.crypto.testing;

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
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.crypto.generators.SCrypt;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Key files that pqfl never writes itself, built byte by byte: encrypted keys with whatever encryption
 * parameters a test asks for, hostile ones included.
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
