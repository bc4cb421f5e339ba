package io.pqfl.client.agent;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.Rejections;
import java.util.OptionalLong;

/** What a failed call means for the agent: try again later, say Hello again, or give up. */
final class Failures {
    private static final Metadata.Key<String> REASON = Metadata.Key.of(Rejections.REASON_TRAILER,
            Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> ACCEPTED_SEQ = Metadata.Key.of(Rejections.ACCEPTED_SEQ_TRAILER,
            Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> ACCEPTED_DIGEST = Metadata.Key.of(Rejections.ACCEPTED_DIGEST_TRAILER,
            Metadata.ASCII_STRING_MARSHALLER);

    private Failures() {
    }

    /** The coordinator's reason trailer ({@code NONCE_MISMATCH}, {@code BUSY}, …), or null for transport errors. */
    static String reason(StatusRuntimeException e) {
        return e.getTrailers() == null ? null : e.getTrailers().get(REASON);
    }

    /**
     * The ledger entry of this client's update that a {@code DUPLICATE} says the coordinator accepted earlier, when
     * that update's digest is {@code mine}: an earlier upload of this very update was accepted and its answer lost.
     * Empty for any other refusal, and for a duplicate of some other update.
     */
    static OptionalLong acceptedEarlier(StatusRuntimeException e, PayloadDigest mine) {
        Metadata trailers = e.getTrailers();
        if (!"DUPLICATE".equals(reason(e)) || trailers == null) {
            return OptionalLong.empty();
        }
        String seq = trailers.get(ACCEPTED_SEQ);
        String digest = trailers.get(ACCEPTED_DIGEST);
        try {
            if (seq != null && digest != null && mine.matches(PayloadDigest.ofHex(digest))) {
                return OptionalLong.of(Long.parseUnsignedLong(seq));
            }
        } catch (IllegalArgumentException malformed) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
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
