package io.pqfl.coordinator;

import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.protocol.RejectReason;
import java.util.Objects;

/**
 * A call the coordinator refused: an update, a Hello, a certificate, an enrollment or a session.
 * {@link #reason()} says why (it travels to the client, and the server maps it to one gRPC status), the
 * message says what exactly. The message may quote what the caller sent, so it is made safe for logs here
 * ({@link LogSafe}): escaped and bounded, whatever reaches the log, the ledger or the status description.
 */
public final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final RejectReason reason;

    public RefusedException(RejectReason reason, String message) {
        super(LogSafe.text(message));
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public RejectReason reason() {
        return reason;
    }

    @Override
    public String toString() {
        return reason + ": " + getMessage();
    }
}
