package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * A public key of one {@link SignatureScheme}, checked when it is built: its encoding parses, its scheme is
 * one pqfl knows, and its raw size is the scheme's. {@link #toString()} shows the scheme and key id only.
 */
public final class VerifyingKey {
    private final SignatureScheme scheme;
    private final byte[] encoded;
    private final byte[] raw;
    private final KeyId keyId;
    private final PublicKey jcaKey;

    private VerifyingKey(SignatureScheme scheme, byte[] encoded, byte[] raw, PublicKey jcaKey) {
        this.scheme = scheme;
        this.encoded = encoded;
        this.raw = raw;
        this.jcaKey = jcaKey;
        this.keyId = KeyId.ofBytes(Arrays.copyOf(sha256(encoded), KeyId.BYTES));
    }

    /**
     * Parses a DER-encoded X.509 SubjectPublicKeyInfo; the scheme is read from its algorithm identifier.
     *
     * @throws KeyFormatException when the bytes are not such a structure, the algorithm is not one of
     *     {@link SignatureScheme}'s, or the key has the wrong size or is otherwise invalid
     */
    public static VerifyingKey fromEncoded(byte[] encoded) throws KeyFormatException {
        Objects.requireNonNull(encoded, "encoded");
        SubjectPublicKeyInfo info;
        try {
            info = SubjectPublicKeyInfo.getInstance(encoded);
        } catch (RuntimeException e) {
            throw new KeyFormatException("not a DER-encoded X.509 SubjectPublicKeyInfo", e);
        }
        if (info == null) {
            throw new KeyFormatException("not a DER-encoded X.509 SubjectPublicKeyInfo");
        }
        SignatureScheme scheme = BcAlgorithms.schemeOf(info.getAlgorithm()).orElseThrow(() -> new KeyFormatException(
                "unsupported public key algorithm " + info.getAlgorithm().getAlgorithm() + "; pqfl knows "
                        + SignatureScheme.validNames()));
        byte[] raw;
        try {
            raw = info.getPublicKeyData().getOctets();
        } catch (RuntimeException e) {
            // Bouncy Castle throws IllegalStateException for a BIT STRING that declares unused bits.
            throw new KeyFormatException("not a DER-encoded X.509 SubjectPublicKeyInfo (its key is not whole bytes)", e);
        }
        requireRawSize(scheme, raw);
        byte[] canonical;
        try {
            canonical = info.getEncoded("DER");
        } catch (IOException e) {
            throw new KeyFormatException("cannot re-encode public key", e);
        }
        try {
            PublicKey key = BcAlgorithms.keyFactory(scheme, BcAlgorithms.bouncyCastle())
                    .generatePublic(new X509EncodedKeySpec(canonical));
            return new VerifyingKey(scheme, canonical, raw, key);
        } catch (GeneralSecurityException | RuntimeException e) {
            // The provider's message names its own classes; the cause keeps it for debugging.
            throw new KeyFormatException("invalid " + scheme + " public key (its key data does not decode)", e);
        }
    }

    /** Builds a key from its raw bytes (the bit string of the SubjectPublicKeyInfo), checking the size. */
    public static VerifyingKey fromRaw(SignatureScheme scheme, byte[] raw) throws KeyFormatException {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(raw, "raw");
        requireRawSize(scheme, raw);
        try {
            return fromEncoded(new SubjectPublicKeyInfo(BcAlgorithms.keyAlgorithmIdentifier(scheme), raw).getEncoded("DER"));
        } catch (IOException e) {
            throw new KeyFormatException("cannot encode " + scheme + " public key", e);
        }
    }

    /** Wraps a JCA public key (for example one made by another provider). */
    public static VerifyingKey fromJca(PublicKey key) throws KeyFormatException {
        Objects.requireNonNull(key, "key");
        byte[] encoded = key.getEncoded();
        if (encoded == null) {
            throw new KeyFormatException("the " + key.getAlgorithm() + " key has no X.509 encoding");
        }
        return fromEncoded(encoded);
    }

    private static void requireRawSize(SignatureScheme scheme, byte[] raw) throws KeyFormatException {
        if (raw.length != scheme.publicKeySize()) {
            throw new KeyFormatException("a " + scheme + " public key has " + scheme.publicKeySize()
                    + " bytes, got " + raw.length);
        }
    }

    public SignatureScheme scheme() {
        return scheme;
    }

    public KeyId keyId() {
        return keyId;
    }

    /** The DER-encoded X.509 SubjectPublicKeyInfo. */
    public byte[] encoded() {
        return encoded.clone();
    }

    /** The raw public key, as the scheme's standard defines it. */
    public byte[] raw() {
        return raw.clone();
    }

    /** The JCA key, for the internal signing glue and for interop with other providers. */
    public PublicKey toJca() {
        return jcaKey;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VerifyingKey other && Arrays.equals(encoded, other.encoded);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encoded);
    }

    @Override
    public String toString() {
        return "VerifyingKey[" + scheme + ", id=" + keyId + "]";
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
