package io.pqfl.crypto;

import java.security.GeneralSecurityException;

/** An encrypted private key could not be decrypted with the password given (or no password was given). */
public final class WrongPasswordException extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    public WrongPasswordException(String message) {
        super(message);
    }

    public WrongPasswordException(String message, Throwable cause) {
        super(message, cause);
    }
}
