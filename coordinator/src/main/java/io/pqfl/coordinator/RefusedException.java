package io.pqfl.coordinator;

import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.RejectReason;
import java.util.Objects;
import java.util.Optional;

/**
 * A call the coordinator refused: an update, a Hello, a certificate, an enrollment or a session.
 * {@link #reason()} says why (it travels to the client, and the server maps it to one gRPC status), the
 * message says what exactly. The message may quote what the caller sent, so it is made safe for logs here
 * ({@link LogSafe}): escaped and bounded, whatever reaches the log, the ledger or the status description.
 */
public final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final RejectReason reason;
    private final transient Accepted accepted;

    /**
     * The update the coordinator already accepted from the refused client for the round its upload named: its
     * ledger entry and payload digest. A {@code DUPLICATE} carries it to that client only (docs/PROTOCOL.md,
     * "Retries"), so a client whose answer was lost can tell its earlier upload was accepted.
     */
    public record Accepted(long ledgerSeq, PayloadDigest digest) {
        public Accepted {
            Objects.requireNonNull(digest, "digest");
        }
    }

    public RefusedException(RejectReason reason, String message) {
        this(reason, message, null);
    }

    private RefusedException(RejectReason reason, String message, Accepted accepted) {
        super(LogSafe.text(message));
        this.reason = Objects.requireNonNull(reason, "reason");
        this.accepted = accepted;
    }

    /** {@code DUPLICATE}: the client's update for {@code round} was accepted before, as {@code accepted} says. */
    public static RefusedException alreadyAccepted(String clientId, long round, Accepted accepted) {
        return new RefusedException(RejectReason.DUPLICATE, "client " + clientId + "'s update for round " + round
                + " was already accepted (ledger entry " + accepted.ledgerSeq() + ", update " + accepted.digest() + ")",
                Objects.requireNonNull(accepted, "accepted"));
    }

    public RejectReason reason() {
        return reason;
    }

    /** The earlier accepted update, for a refusal made by {@link #alreadyAccepted}; empty otherwise. */
    public Optional<Accepted> accepted() {
        return Optional.ofNullable(accepted);
    }

    @Override
    public String toString() {
        return reason + ": " + getMessage();
    }
}
