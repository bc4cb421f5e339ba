package io.pqfl.coordinator.verify;

import java.util.Objects;

/** An update the coordinator refused; {@link #reason()} says why, the message says what exactly. */
public final class UpdateRejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final RejectReason reason;

    public UpdateRejectedException(RejectReason reason, String message) {
        super(message);
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
