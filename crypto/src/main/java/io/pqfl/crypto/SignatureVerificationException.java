package io.pqfl.crypto;

import java.security.GeneralSecurityException;

/**
 * A signature was not accepted. The subclass says why: {@link SignatureMismatchException} (well-formed but
 * not valid for this key and message), {@link SchemeMismatchException} (made with another scheme than the
 * key's), {@link MalformedSignatureException} (not a well-formed signature of the key's scheme).
 */
public abstract sealed class SignatureVerificationException extends GeneralSecurityException
        permits SignatureMismatchException, SchemeMismatchException, MalformedSignatureException {
    private static final long serialVersionUID = 1L;

    SignatureVerificationException(String message, Throwable cause) {
        super(message, cause);
    }
}
