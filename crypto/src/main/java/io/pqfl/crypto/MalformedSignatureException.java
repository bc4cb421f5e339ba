package io.pqfl.crypto;

/** Bytes that cannot be a signature of the key's scheme (wrong length, bad encoding). */
public final class MalformedSignatureException extends SignatureVerificationException {
    private static final long serialVersionUID = 1L;

    public MalformedSignatureException(String message) {
        super(message, null);
    }

    public MalformedSignatureException(String message, Throwable cause) {
        super(message, cause);
    }
}
