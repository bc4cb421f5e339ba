package io.pqfl.crypto.pki;

import java.util.Objects;

/** A certificate that does not prove the identity it claims, with the reason why. */
public final class CertificateRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a certificate was refused. */
    public enum Reason {
        /** Unparseable, not issued by the federation CA, bad signature, wrong purpose or wrong subject. */
        INVALID,
        /** Outside its validity period. */
        EXPIRED,
        /** On the federation CA's revocation list. */
        REVOKED
    }

    private final Reason reason;

    public CertificateRejectedException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public CertificateRejectedException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
