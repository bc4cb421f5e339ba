package io.pqfl.coordinator.verify;

import io.grpc.Status;

/** Why an update was refused. Each reason maps to one gRPC status code; the reason's name travels to the client. */
public enum RejectReason {
    UNKNOWN_CLIENT(Status.Code.UNAUTHENTICATED),
    REVOKED_KEY(Status.Code.PERMISSION_DENIED),
    KEY_MISMATCH(Status.Code.UNAUTHENTICATED),
    SCHEME_NOT_ACCEPTED(Status.Code.PERMISSION_DENIED),
    WRONG_FEDERATION(Status.Code.INVALID_ARGUMENT),
    NO_OPEN_ROUND(Status.Code.FAILED_PRECONDITION),
    STALE_ROUND(Status.Code.FAILED_PRECONDITION),
    NOT_SAMPLED(Status.Code.FAILED_PRECONDITION),
    NONCE_MISMATCH(Status.Code.FAILED_PRECONDITION),
    BASE_MODEL_MISMATCH(Status.Code.FAILED_PRECONDITION),
    DUPLICATE(Status.Code.ALREADY_EXISTS),
    /** The update's manifest (tensor names, shapes, dtypes, architecture label) is not the round's. */
    MANIFEST_MISMATCH(Status.Code.INVALID_ARGUMENT),
    TOO_LARGE(Status.Code.RESOURCE_EXHAUSTED),
    INCOMPLETE(Status.Code.INVALID_ARGUMENT),
    MALFORMED(Status.Code.INVALID_ARGUMENT),
    NON_FINITE(Status.Code.INVALID_ARGUMENT),
    BAD_EXAMPLE_COUNT(Status.Code.INVALID_ARGUMENT),
    BAD_SIGNATURE(Status.Code.UNAUTHENTICATED),
    /** A certificate not issued by the federation CA, for another name or role, or none accepted here. */
    CERTIFICATE_INVALID(Status.Code.UNAUTHENTICATED),
    CERTIFICATE_EXPIRED(Status.Code.UNAUTHENTICATED),
    CERTIFICATE_REVOKED(Status.Code.PERMISSION_DENIED),
    /** An enrollment token this coordinator never issued, or issued for another client id. */
    TOKEN_INVALID(Status.Code.UNAUTHENTICATED),
    TOKEN_USED(Status.Code.PERMISSION_DENIED),
    TOKEN_EXPIRED(Status.Code.PERMISSION_DENIED),
    /** No pending challenge for this client and key, or the proof of possession does not verify. */
    ENROLLMENT_INVALID(Status.Code.UNAUTHENTICATED),
    ALREADY_ENROLLED(Status.Code.ALREADY_EXISTS),
    /** A Hello's challenge was not issued by this coordinator for this client, expired, or was used before. */
    CHALLENGE_INVALID(Status.Code.UNAUTHENTICATED),
    /** A Hello's signature over the session statement does not verify with the client's key. */
    PROOF_INVALID(Status.Code.UNAUTHENTICATED),
    /** A call that needs a session came without a valid one (none, unknown, or expired): say Hello again. */
    SESSION_INVALID(Status.Code.UNAUTHENTICATED),
    /** A call names another client or key than its session's, or its mutual-TLS certificate names another client. */
    SESSION_MISMATCH(Status.Code.PERMISSION_DENIED),
    /** A certificate older than the one already admitted for this client. */
    CERTIFICATE_SUPERSEDED(Status.Code.PERMISSION_DENIED),
    /** Too many uploads in progress (the coordinator's upload slots or memory budget are taken): retry later. */
    BUSY(Status.Code.RESOURCE_EXHAUSTED),
    /** Too many calls from one address. */
    RATE_LIMITED(Status.Code.RESOURCE_EXHAUSTED),
    /** The client had too many updates refused in this round; it may try again in the next. */
    REJECTION_LIMIT(Status.Code.RESOURCE_EXHAUSTED);

    private final Status.Code code;

    RejectReason(Status.Code code) {
        this.code = code;
    }

    public Status.Code code() {
        return code;
    }
}
