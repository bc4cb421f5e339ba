package io.pqfl.crypto;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.Provider;
import java.security.Signature;
import java.security.SignatureException;
import java.util.Objects;

/**
 * Verifies signatures made with one public key. {@link #verify} returns nothing and throws when the
 * signature is not good, so no caller can forget to check a result. Thread-safe.
 */
public final class Verifier {
    private final VerifyingKey key;
    private final Provider provider;

    private Verifier(VerifyingKey key, Provider provider) {
        this.key = key;
        this.provider = provider;
    }

    public static Verifier create(VerifyingKey key) {
        return create(key, BcAlgorithms.bouncyCastle());
    }

    public static Verifier create(VerifyingKey key, Provider provider) {
        return new Verifier(Objects.requireNonNull(key, "key"), Objects.requireNonNull(provider, "provider"));
    }

    public VerifyingKey key() {
        return key;
    }

    /**
     * @throws SchemeMismatchException the signature was made with another scheme than the key's
     * @throws MalformedSignatureException the bytes cannot be a signature of the key's scheme
     * @throws SignatureMismatchException the signature is well-formed but not valid for key and message
     */
    public void verify(byte[] message, SignatureValue signature) throws SignatureVerificationException {
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(signature, "signature");
        SignatureScheme scheme = key.scheme();
        if (signature.scheme() != scheme) {
            throw new SchemeMismatchException(scheme, signature.scheme());
        }
        int length = signature.length();
        boolean sizeOk = scheme.family().hasFixedSignatureSize()
                ? length == scheme.signatureSize()
                : length > 0 && length <= scheme.signatureSize();
        if (!sizeOk) {
            throw new MalformedSignatureException("a " + scheme + " signature has "
                    + (scheme.family().hasFixedSignatureSize() ? "" : "at most ") + scheme.signatureSize()
                    + " bytes, got " + length);
        }
        boolean valid;
        try {
            Signature verifier = BcAlgorithms.signature(scheme, provider);
            verifier.initVerify(key.toJca());
            verifier.update(message);
            valid = verifier.verify(signature.bytes());
        } catch (SignatureException | IllegalArgumentException | IllegalStateException e) {
            // Providers throw rather than return false when the encoding itself is broken (e.g. bad DER, bad Falcon header).
            throw new MalformedSignatureException("not a well-formed " + scheme + " signature: " + e.getMessage(), e);
        } catch (InvalidKeyException e) {
            throw new IllegalStateException("provider rejected a checked " + scheme + " key", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("provider " + provider.getName() + " cannot verify " + scheme, e);
        }
        if (!valid) {
            throw new SignatureMismatchException(scheme + " signature does not verify with key " + key.keyId());
        }
    }

    @Override
    public String toString() {
        return "Verifier[" + key.scheme() + ", id=" + key.keyId() + "]";
    }
}
