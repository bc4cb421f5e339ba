package io.pqfl.coordinator.verify;

import io.pqfl.protocol.RejectReason;
import java.util.Objects;

/**
 * A call the coordinator refused (an update, a Hello, an enrollment, a session); {@link #reason()} says why, the
 * message says what exactly. The message may quote what the caller sent, so it is made safe for logs here
 * ({@link LogSafe}): escaped and bounded, whatever reaches the log, the ledger or the status description.
 */
public final class UpdateRejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final RejectReason reason;

    public UpdateRejectedException(RejectReason reason, String message) {
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
