package io.pqfl.coordinator.server;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;

/**
 * The one place where domain failures become gRPC statuses: each {@link RejectReason} maps to one status code
 * ({@link #code}). The status description starts with the reason's name ({@code NONCE_MISMATCH: ...}), and the
 * reason also travels in the trailer {@value #REASON_KEY_NAME} so clients can branch on it without parsing text.
 */
public final class Statuses {
    public static final String REASON_KEY_NAME = io.pqfl.protocol.Rejections.REASON_TRAILER;
    public static final Metadata.Key<String> REASON_KEY = Metadata.Key.of(REASON_KEY_NAME, Metadata.ASCII_STRING_MARSHALLER);

    private Statuses() {
    }

    public static final Metadata.Key<String> ACCEPTED_SEQ_KEY = Metadata.Key.of(
            io.pqfl.protocol.Rejections.ACCEPTED_SEQ_TRAILER, Metadata.ASCII_STRING_MARSHALLER);
    public static final Metadata.Key<String> ACCEPTED_DIGEST_KEY = Metadata.Key.of(
            io.pqfl.protocol.Rejections.ACCEPTED_DIGEST_TRAILER, Metadata.ASCII_STRING_MARSHALLER);

    /** The refusal as a status; a {@code DUPLICATE} of an accepted update also names it in two trailers. */
    public static StatusRuntimeException rejected(RefusedException e) {
        Metadata trailers = trailers(e.reason());
        e.accepted().ifPresent(a -> {
            trailers.put(ACCEPTED_SEQ_KEY, Long.toString(a.ledgerSeq()));
            trailers.put(ACCEPTED_DIGEST_KEY, a.digest().hex());
        });
        return status(e.reason(), e.getMessage(), trailers);
    }

    public static StatusRuntimeException rejected(RejectReason reason, String message) {
        return status(reason, message, trailers(reason));
    }

    private static Metadata trailers(RejectReason reason) {
        Metadata trailers = new Metadata();
        trailers.put(REASON_KEY, reason.name());
        return trailers;
    }

    private static StatusRuntimeException status(RejectReason reason, String message, Metadata trailers) {
        return Status.fromCode(code(reason)).withDescription(reason.name() + ": " + message).asRuntimeException(trailers);
    }

    /** The status code a refusal for {@code reason} carries. */
    public static Status.Code code(RejectReason reason) {
        return switch (reason) {
            case UNKNOWN_CLIENT, KEY_MISMATCH, BAD_SIGNATURE, CERTIFICATE_INVALID, CERTIFICATE_EXPIRED, TOKEN_INVALID,
                    ENROLLMENT_INVALID, CHALLENGE_INVALID, PROOF_INVALID, SESSION_INVALID -> Status.Code.UNAUTHENTICATED;
            case REVOKED_KEY, SCHEME_NOT_ACCEPTED, CERTIFICATE_REVOKED, TOKEN_USED, TOKEN_EXPIRED, SESSION_MISMATCH,
                    CERTIFICATE_SUPERSEDED -> Status.Code.PERMISSION_DENIED;
            case WRONG_FEDERATION, MANIFEST_MISMATCH, INCOMPLETE, MALFORMED, NON_FINITE, BAD_EXAMPLE_COUNT,
                    BAD_RECEIPT, SECAGG_INVALID ->
                    Status.Code.INVALID_ARGUMENT;
            case NO_OPEN_ROUND, STALE_ROUND, NOT_SAMPLED, NONCE_MISMATCH, BASE_MODEL_MISMATCH, SECURE_AGGREGATION_REQUIRED,
                    SECAGG_PHASE -> Status.Code.FAILED_PRECONDITION;
            case DUPLICATE, ALREADY_ENROLLED -> Status.Code.ALREADY_EXISTS;
            case TOO_LARGE, BUSY, RATE_LIMITED, REJECTION_LIMIT -> Status.Code.RESOURCE_EXHAUSTED;
        };
    }

    public static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    public static StatusRuntimeException internal(String message) {
        return Status.INTERNAL.withDescription(message).asRuntimeException();
    }

    /** The reject reason carried by a status, if any. */
    public static RejectReason reasonOf(StatusRuntimeException e) {
        Metadata trailers = e.getTrailers();
        String name = trailers == null ? null : trailers.get(REASON_KEY);
        return name == null ? null : RejectReason.valueOf(name);
    }
}
