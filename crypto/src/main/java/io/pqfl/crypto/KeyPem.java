package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
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
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.pkcs.EncryptedPrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
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
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * PEM files for keys: public keys as X.509 SubjectPublicKeyInfo ({@code PUBLIC KEY}), private keys as
 * PKCS#8 ({@code PRIVATE KEY}) or password-encrypted PKCS#8 ({@code ENCRYPTED PRIVATE KEY}: PBES2 with
 * PBKDF2-HMAC-SHA256 and AES-256-CBC). Reading a key tells its scheme from the key's own algorithm identifier.
 * Private key files are created owner-only, and no method here overwrites an existing file.
 *
 * <p>Key files may come from elsewhere, so reading checks before it trusts: an encrypted key's key-derivation
 * cost is bounded before anything is derived, an ML-DSA key without its seed must be one FIPS 204 calls
 * valid, and every refusal names the file (when reading one) and what was expected, never a library class.
 */
public final class KeyPem {
    /** PBKDF2 iterations for encrypted private keys (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
    public static final int PBKDF2_ITERATIONS = 600_000;

    private static final String PUBLIC_KEY = "PUBLIC KEY";
    private static final String PRIVATE_KEY = "PRIVATE KEY";
    private static final String ENCRYPTED_PRIVATE_KEY = "ENCRYPTED PRIVATE KEY";
    private static final String EC_PRIVATE_KEY = "EC PRIVATE KEY";

    // A PEM label comes from the file; shown only when it looks like one (RFC 7468: printable, no hyphens).
    private static final Pattern LABEL = Pattern.compile("[A-Z0-9][A-Z0-9 ]{0,39}");
    private static final Pattern BEGIN = Pattern.compile("-----BEGIN ([^-\\r\\n]{1,40})-----");

    /** Key files are a few kilobytes; anything larger is not one, and is not read into memory whole. */
    private static final int MAX_FILE_BYTES = 1 << 20;

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
        return publicKey(parse(pem, Wanted.PUBLIC));
    }

    /**
     * Decodes a private key, decrypting it when it is encrypted. The encryption parameters an encrypted key
     * declares are checked (see {@code docs/CRYPTO.md}) before anything is derived from the password, and an
     * ML-DSA key given without its seed is checked as FIPS 204 requires.
     *
     * @throws WrongPasswordException the key is encrypted and the password is missing or wrong
     */
    public static SigningKey decodePrivate(String pem, char[] password) throws KeyFormatException, WrongPasswordException {
        return privateKey(parse(pem, Wanted.PRIVATE), password);
    }

    /** Reads either a public or a private key file. */
    public static Loaded decode(String pem, char[] password) throws KeyFormatException, WrongPasswordException {
        PemObject block = parse(pem, Wanted.ANY);
        if (PUBLIC_KEY.equals(block.getType())) {
            return new Loaded(publicKey(block), null);
        }
        SigningKey signingKey = privateKey(block, password);
        return new Loaded(signingKey.verifyingKey(), signingKey);
    }

    private static VerifyingKey publicKey(PemObject block) throws KeyFormatException {
        der(block, SubjectPublicKeyInfo::getInstance, "an X.509 SubjectPublicKeyInfo");
        return VerifyingKey.fromEncoded(block.getContent());
    }

    private static SigningKey privateKey(PemObject block, char[] password) throws KeyFormatException, WrongPasswordException {
        PrivateKeyInfo info = switch (block.getType()) {
            case ENCRYPTED_PRIVATE_KEY -> decrypt(der(block, EncryptedPrivateKeyInfo::getInstance,
                    "a PKCS#8 EncryptedPrivateKeyInfo"), password);
            case PRIVATE_KEY -> der(block, PrivateKeyInfo::getInstance, "a PKCS#8 PrivateKeyInfo");
            case EC_PRIVATE_KEY -> fromTraditionalEc(der(block, ECPrivateKey::getInstance, "an SEC 1 ECPrivateKey"));
            default -> throw new IllegalStateException("parse() admitted a " + block.getType() + " block");
        };
        return fromPrivateKeyInfo(info);
    }

    /** OpenSSL's traditional EC key as PKCS#8, which names the curve in the algorithm identifier. */
    private static PrivateKeyInfo fromTraditionalEc(ECPrivateKey ec) throws KeyFormatException {
        try {
            return new PrivateKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, ec.getParametersObject()), ec);
        } catch (IOException | RuntimeException e) {
            throw new KeyFormatException("corrupt EC PRIVATE KEY: its curve parameters do not decode", e);
        }
    }

    private static PrivateKeyInfo decrypt(EncryptedPrivateKeyInfo encrypted, char[] password)
            throws KeyFormatException, WrongPasswordException {
        // Before the password is even looked at: a hostile file's KDF cost must not be paid.
        KeyEncryptionBounds.check(encrypted.getEncryptionAlgorithm());
        if (password == null || password.length == 0) {
            throw new WrongPasswordException("the private key is encrypted; a password is required");
        }
        try {
            return new PKCS8EncryptedPrivateKeyInfo(encrypted).decryptPrivateKeyInfo(
                    new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BcAlgorithms.bouncyCastle()).build(password));
        } catch (PKCSException | OperatorCreationException | RuntimeException e) {
            throw new WrongPasswordException("wrong password for the encrypted private key", e);
        }
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
            // Bouncy Castle's message names its own classes; the cause keeps it for debugging.
            throw new KeyFormatException("invalid " + scheme + " private key (its key data does not decode, "
                    + "or its parts do not belong together)", e);
        }
        Optional<byte[]> expanded = BcAlgorithms.mlDsaExpandedKeyWithoutSeed(key);
        if (expanded.isPresent()) {
            MlDsaExpandedKeyCheck.check(scheme, expanded.get(), verifyingKey.raw());
        }
        return new SigningKey(verifyingKey, key);
    }

    /** Which PEM blocks a reader accepts; every refusal says so, as a user can act on that. */
    private enum Wanted {
        PUBLIC("PUBLIC KEY", Set.of(PUBLIC_KEY)),
        PRIVATE("PRIVATE KEY or ENCRYPTED PRIVATE KEY", Set.of(PRIVATE_KEY, ENCRYPTED_PRIVATE_KEY, EC_PRIVATE_KEY)),
        ANY("PUBLIC KEY, PRIVATE KEY or ENCRYPTED PRIVATE KEY",
                Set.of(PUBLIC_KEY, PRIVATE_KEY, ENCRYPTED_PRIVATE_KEY, EC_PRIVATE_KEY));

        final String labels;
        final Set<String> types;

        Wanted(String labels, Set<String> types) {
            this.labels = labels;
            this.types = types;
        }
    }

    /** The first PEM block, if it is one that {@code wanted} accepts. */
    private static PemObject parse(String pem, Wanted wanted) throws KeyFormatException {
        Objects.requireNonNull(pem, "pem");
        PemObject block;
        try (PemReader reader = new PemReader(new StringReader(pem))) {
            block = reader.readPemObject();
        } catch (IOException | RuntimeException e) {
            // PemReader fails on a missing END line or a bad base64 body, in messages that name its internals.
            throw new KeyFormatException("corrupt PEM: the " + firstBlockName(pem)
                    + " block is truncated or its base64 is damaged", e);
        }
        if (block == null) {
            throw new KeyFormatException("no PEM block found; expected a PEM " + wanted.labels);
        }
        String type = block.getType();
        if (!wanted.types.contains(type)) {
            throw new KeyFormatException("holds " + describe(type) + "; expected a " + wanted.labels + hint(type));
        }
        if (EC_PRIVATE_KEY.equals(type) && !block.getHeaders().isEmpty()) {
            throw new KeyFormatException("holds an OpenSSL-encrypted EC PRIVATE KEY; expected a " + wanted.labels
                    + " (convert it with `openssl pkcs8 -topk8`)");
        }
        return block;
    }

    private static <T> T der(PemObject block, Function<byte[], T> parser, String structure) throws KeyFormatException {
        try {
            T value = parser.apply(block.getContent());
            if (value != null) {
                return value;
            }
        } catch (RuntimeException e) {
            throw new KeyFormatException(corrupt(block, structure), e);
        }
        throw new KeyFormatException(corrupt(block, structure));
    }

    private static String corrupt(PemObject block, String structure) {
        return "corrupt " + block.getType() + ": its contents are not " + structure + " (truncated or damaged?)";
    }

    private static String describe(String type) {
        if (!LABEL.matcher(type).matches()) {
            return "an unrecognised PEM block";
        }
        boolean an = "AEIOU".indexOf(type.charAt(0)) >= 0 || type.startsWith("RSA") || type.startsWith("SSH")
                || type.startsWith("X509");
        return (an ? "an " : "a ") + type;
    }

    private static String hint(String type) {
        return type.endsWith("CERTIFICATE") ? " (to see a certificate use `pqfl pki check`)" : "";
    }

    private static String firstBlockName(String pem) {
        Matcher m = BEGIN.matcher(pem);
        return m.find() && LABEL.matcher(m.group(1)).matches() ? m.group(1) : "first";
    }

    // ---- files ----

    public static VerifyingKey readVerifyingKey(Path file) throws IOException, KeyFormatException {
        String pem = readFile(file, Wanted.PUBLIC);
        try {
            return decodePublic(pem);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        }
    }

    public static SigningKey readSigningKey(Path file, char[] password)
            throws IOException, KeyFormatException, WrongPasswordException {
        String pem = readFile(file, Wanted.PRIVATE);
        try {
            return decodePrivate(pem, password);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        } catch (WrongPasswordException e) {
            throw new WrongPasswordException(file + ": " + e.getMessage(), e);
        }
    }

    public static Loaded read(Path file, char[] password) throws IOException, KeyFormatException, WrongPasswordException {
        String pem = readFile(file, Wanted.ANY);
        try {
            return decode(pem, password);
        } catch (KeyFormatException e) {
            throw new KeyFormatException(file + ": " + e.getMessage(), e);
        } catch (WrongPasswordException e) {
            throw new WrongPasswordException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file's text, refusing (with the file's name) what cannot be a PEM key file: a directory, an empty,
     * huge or binary file.
     */
    private static String readFile(Path file, Wanted wanted) throws IOException, KeyFormatException {
        Objects.requireNonNull(file, "file");
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a directory, expected a key file");
        }
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such key file");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        }
        String expected = "expected a PEM " + wanted.labels;
        if (bytes.length > MAX_FILE_BYTES) {
            throw new KeyFormatException(file + ": too large for a key file (over 1 MiB); " + expected);
        }
        if (bytes.length == 0) {
            throw new KeyFormatException(file + ": empty file; " + expected);
        }
        String text = text(bytes);
        if (text == null) {
            throw new KeyFormatException(file + ": not a PEM file (binary data; " + expected + ")");
        }
        return text;
    }

    /** The bytes as text, or null when they hold control characters or are not UTF-8 (a DER file, say). */
    private static String text(byte[] bytes) {
        for (byte b : bytes) {
            if ((b >= 0 && b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') || b == 0x7f) {
                return null;
            }
        }
        try {
            // PEM itself is ASCII; UTF-8 admits explanatory text around the blocks (RFC 7468) and a BOM.
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
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
            try {
                Files.createDirectories(parent);
            } catch (FileAlreadyExistsException e) {
                // What is in the way is a file where a directory should be; "already exists" would read like
                // a refusal to overwrite the key file itself.
                throw new FileSystemException(file.toString(), null, "cannot create it: " + e.getFile() + " is not a directory");
            }
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
