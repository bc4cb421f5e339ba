package io.pqfl.crypto;

/** A well-formed signature that does not verify for this key and message. */
public final class SignatureMismatchException extends SignatureVerificationException {
    private static final long serialVersionUID = 1L;

    public SignatureMismatchException(String message) {
        super(message, null);
    }
}
