package io.pqfl.client.agent;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.protocol.Rejections;

/** What a failed call means for the agent: try again later, say Hello again, or give up. */
final class Failures {
    private static final Metadata.Key<String> REASON = Metadata.Key.of(Rejections.REASON_TRAILER,
            Metadata.ASCII_STRING_MARSHALLER);

    private Failures() {
    }

    /** The coordinator's reason trailer ({@code NONCE_MISMATCH}, {@code BUSY}, …), or null for transport errors. */
    static String reason(StatusRuntimeException e) {
        return e.getTrailers() == null ? null : e.getTrailers().get(REASON);
    }

    /** The transport or the coordinator's process had trouble: the same call may work later. */
    static boolean transientCode(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.CANCELLED
                || code == Status.Code.UNKNOWN || code == Status.Code.ABORTED;
    }

    /** The coordinator asks to come back later: rate limit, or its upload slots are taken. */
    static boolean busy(StatusRuntimeException e) {
        String reason = reason(e);
        return "RATE_LIMITED".equals(reason) || "BUSY".equals(reason);
    }

    /** Transport trouble, or the coordinator asking to come back later. */
    static boolean retryable(StatusRuntimeException e) {
        return transientCode(e.getStatus().getCode()) || busy(e);
    }

    /** The coordinator no longer knows the session (it expired, or the coordinator restarted). */
    static boolean sessionEnded(StatusRuntimeException e) {
        return "SESSION_INVALID".equals(reason(e));
    }
}
