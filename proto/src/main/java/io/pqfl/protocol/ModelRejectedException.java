package io.pqfl.protocol;

/** A global model that a client must not load: wrong signer, bad signature, or bytes that do not match. */
public final class ModelRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    public ModelRejectedException(String message) {
        super(message);
    }

    public ModelRejectedException(String message, Throwable cause) {
        super(message, cause);
    }
}
