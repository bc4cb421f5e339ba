package io.pqfl.crypto.pki;

/** A certificate authority directory, certificate or CRL file that cannot be used; the message names the file. */
public final class PkiException extends Exception {
    private static final long serialVersionUID = 1L;

    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }
}
