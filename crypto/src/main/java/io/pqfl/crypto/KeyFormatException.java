package io.pqfl.crypto;

import java.security.GeneralSecurityException;

/** Key bytes or a key file that cannot be read: corrupt encoding, unknown algorithm, wrong size. */
public class KeyFormatException extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    public KeyFormatException(String message) {
        super(message);
    }

    public KeyFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
