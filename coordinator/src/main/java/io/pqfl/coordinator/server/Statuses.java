package io.pqfl.coordinator.server;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.verify.RejectReason;
import io.pqfl.coordinator.verify.UpdateRejectedException;

/**
 * The one place where domain failures become gRPC statuses. The status description starts with the
 * reason's name ({@code NONCE_MISMATCH: ...}), and the reason also travels in the trailer
 * {@value #REASON_KEY_NAME} so clients can branch on it without parsing text.
 */
public final class Statuses {
    public static final String REASON_KEY_NAME = io.pqfl.protocol.Rejections.REASON_TRAILER;
    public static final Metadata.Key<String> REASON_KEY = Metadata.Key.of(REASON_KEY_NAME, Metadata.ASCII_STRING_MARSHALLER);

    private Statuses() {
    }

    public static StatusRuntimeException rejected(UpdateRejectedException e) {
        return rejected(e.reason(), e.getMessage());
    }

    public static StatusRuntimeException rejected(RejectReason reason, String message) {
        Metadata trailers = new Metadata();
        trailers.put(REASON_KEY, reason.name());
        return Status.fromCode(reason.code()).withDescription(reason.name() + ": " + message).asRuntimeException(trailers);
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
