package io.pqfl.crypto;

/** A trust directory that cannot be loaded or changed as asked; the message names the file. */
public final class TrustStoreException extends Exception {
    private static final long serialVersionUID = 1L;

    public TrustStoreException(String message) {
        super(message);
    }

    public TrustStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
