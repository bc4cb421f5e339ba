package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;

/**
 * PEM files for keys: public keys as X.509 SubjectPublicKeyInfo ({@code PUBLIC KEY}), private keys as
 * PKCS#8 ({@code PRIVATE KEY}) or password-encrypted PKCS#8 ({@code ENCRYPTED PRIVATE KEY}: PBES2 with
 * PBKDF2-HMAC-SHA256 and AES-256-CBC). Reading a key tells its scheme from the key's own algorithm identifier.
 * Private key files are created owner-only, and no method here overwrites an existing file.
 */
public final class KeyPem {
    /** PBKDF2 iterations for encrypted private keys (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
    public static final int PBKDF2_ITERATIONS = 600_000;


    private KeyPem() {
    }

    /** What a key file held. {@code signingKey} is null for a public key file. */
    public record Loaded(VerifyingKey verifyingKey, SigningKey signingKey) {
        public Loaded {
            Objects.requireNonNull(verifyingKey, "verifyingKey");
        }

        public boolean isPrivate() {
            return signingKey != null;
        }
    }

    public static String encodePublic(VerifyingKey key) {
        Objects.requireNonNull(key, "key");
        return write(SubjectPublicKeyInfo.getInstance(key.encoded()));
    }

    /** PKCS#8 PEM of the private key; encrypted when {@code password} is non-null and non-empty. */
    public static String encodePrivate(SigningKey key, char[] password) {
        Objects.requireNonNull(key, "key");
        try {
            OutputEncryptor encryptor = null;
            if (password != null && password.length > 0) {
                encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                        .setProvider(BcAlgorithms.bouncyCastle())
                        .setRandom(new SecureRandom())
                        .setPRF(PKCS8Generator.PRF_HMACSHA256)
                        .setIterationCount(PBKDF2_ITERATIONS)
                        .setPassword(password)
                        .build();
            }
            return write(new JcaPKCS8Generator(key.toJca(), encryptor).generate());
        } catch (OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot encode " + key, e);
        }
    }

    private static String write(Object pemObject) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(pemObject);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    public static VerifyingKey decodePublic(String pem) throws KeyFormatException {
        Object object = parse(pem);
        if (object instanceof SubjectPublicKeyInfo info) {
            try {
                return VerifyingKey.fromEncoded(info.getEncoded("DER"));
            } catch (IOException e) {
                throw new KeyFormatException("cannot encode public key", e);
            }
        }
        throw new KeyFormatException("expected a PUBLIC KEY, found " + describe(object));
    }

    /**
     * Decodes a private key, decrypting it when it is encrypted. The encryption parameters an encrypted key
     * declares are checked (see {@code docs/CRYPTO.md}) before anything is derived from the password, and an
     * ML-DSA key given without its seed is checked as FIPS 204 requires.
     *
     * @throws WrongPasswordException the key is encrypted and the password is missing or wrong
     */
    public static SigningKey decodePrivate(String pem, char[] password) throws KeyFormatException, WrongPasswordException {
        Object object = parse(pem);
        PrivateKeyInfo info;
        if (object instanceof PKCS8EncryptedPrivateKeyInfo encrypted) {
            // Before the password is even looked at: a hostile file's KDF cost must not be paid.
            KeyEncryptionBounds.check(encrypted.toASN1Structure().getEncryptionAlgorithm());
            if (password == null || password.length == 0) {
                throw new WrongPasswordException("the private key is encrypted; a password is required");
            }
            try {
                info = encrypted.decryptPrivateKeyInfo(new JceOpenSSLPKCS8DecryptorProviderBuilder()
                        .setProvider(BcAlgorithms.bouncyCastle()).build(password));
            } catch (PKCSException | OperatorCreationException | RuntimeException e) {
                throw new WrongPasswordException("wrong password for the encrypted private key", e);
            }
        } else if (object instanceof PrivateKeyInfo plain) {
            info = plain;
        } else if (object instanceof PEMKeyPair pair) {
            info = pair.getPrivateKeyInfo();
        } else {
            throw new KeyFormatException("expected a PRIVATE KEY, found " + describe(object));
        }
        return fromPrivateKeyInfo(info);
    }

    private static SigningKey fromPrivateKeyInfo(PrivateKeyInfo info) throws KeyFormatException {
        SignatureScheme scheme = BcAlgorithms.schemeOf(info.getPrivateKeyAlgorithm()).orElseThrow(() ->
                new KeyFormatException("unsupported private key algorithm "
                        + info.getPrivateKeyAlgorithm().getAlgorithm() + "; pqfl knows " + SignatureScheme.validNames()));
        PrivateKey key;
        VerifyingKey verifyingKey;
        try {
            key = new JcaPEMKeyConverter().setProvider(BcAlgorithms.bouncyCastle()).getPrivateKey(info);
            verifyingKey = VerifyingKey.fromJca(BcAlgorithms.publicKeyOf(scheme, key, BcAlgorithms.bouncyCastle()));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new KeyFormatException("invalid " + scheme + " private key: " + e.getMessage(), e);
        }
        Optional<byte[]> expanded = BcAlgorithms.mlDsaExpandedKeyWithoutSeed(key);
        if (expanded.isPresent()) {
            MlDsaExpandedKeyCheck.check(scheme, expanded.get(), verifyingKey.raw());
        }
        return new SigningKey(verifyingKey, key);
    }

    /** Reads either a public or a private key file. */
    public static Loaded decode(String pem, char[] password) throws KeyFormatException, WrongPasswordException {
        Object object = parse(pem);
        if (object instanceof SubjectPublicKeyInfo) {
            return new Loaded(decodePublic(pem), null);
        }
        SigningKey signingKey = decodePrivate(pem, password);
        return new Loaded(signingKey.verifyingKey(), signingKey);
    }

    private static Object parse(String pem) throws KeyFormatException {
        Objects.requireNonNull(pem, "pem");
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object object = parser.readObject();
            if (object == null) {
                throw new KeyFormatException("no PEM block found");
            }
            return object;
        } catch (IOException | RuntimeException e) {
            throw new KeyFormatException("corrupt PEM: " + e.getMessage(), e);
        }
    }

    private static String describe(Object object) {
        if (object instanceof SubjectPublicKeyInfo) {
            return "a PUBLIC KEY";
        }
        if (object instanceof PrivateKeyInfo || object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMKeyPair) {
            return "a PRIVATE KEY";
        }
        return object.getClass().getSimpleName();
    }

    // ---- files ----

    public static VerifyingKey readVerifyingKey(Path file) throws IOException, KeyFormatException {
        String pem = readFile(file);
        try {
            return decodePublic(pem);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        }
    }

    public static SigningKey readSigningKey(Path file, char[] password)
            throws IOException, KeyFormatException, WrongPasswordException {
        String pem = readFile(file);
        try {
            return decodePrivate(pem, password);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        } catch (WrongPasswordException e) {
            throw new WrongPasswordException(file + ": " + e.getMessage(), e);
        }
    }

    public static Loaded read(Path file, char[] password) throws IOException, KeyFormatException, WrongPasswordException {
        String pem = readFile(file);
        try {
            return decode(pem, password);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        } catch (WrongPasswordException e) {
            throw new WrongPasswordException(file + ": " + e.getMessage(), e);
        }
    }

    private static String readFile(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such key file");
        }
        return Files.readString(file, StandardCharsets.US_ASCII);
    }

    /**
     * Writes {@code privateFile} (owner read/write only) and {@code publicFile}. Refuses, before writing
     * anything, when either exists.
     *
     * @throws FileAlreadyExistsException naming the existing file
     */
    public static void writeKeyPair(SigningKey key, Path privateFile, Path publicFile, char[] password) throws IOException {
        Objects.requireNonNull(key, "key");
        for (Path p : new Path[] {privateFile, publicFile}) {
            if (Files.exists(p)) {
                throw new FileAlreadyExistsException(p.toString(), null, "exists; refusing to overwrite");
            }
        }
        writeNew(privateFile, encodePrivate(key, password), true);
        try {
            writeNew(publicFile, encodePublic(key.verifyingKey()), false);
        } catch (IOException e) {
            Files.deleteIfExists(privateFile);
            throw e;
        }
    }

    /** Writes a public key file; refuses to overwrite. */
    public static void writeVerifyingKey(VerifyingKey key, Path file) throws IOException {
        writeNew(file, encodePublic(key), false);
    }

    private static void writeNew(Path file, String content, boolean ownerOnly) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attributes = ownerOnly && posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
        try (SeekableByteChannel channel = Files.newByteChannel(file,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes);
             var out = Channels.newOutputStream(channel)) {
            out.write(content.getBytes(StandardCharsets.US_ASCII));
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(file.toString(), null, "exists; refusing to overwrite");
        }
    }
}
