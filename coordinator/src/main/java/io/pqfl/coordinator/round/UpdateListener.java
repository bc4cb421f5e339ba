package io.pqfl.coordinator.round;

import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import java.time.Duration;

/** Observes every update's outcome and every round's close (the simulation harness measures with it). */
public interface UpdateListener {
    UpdateListener NONE = new UpdateListener() {
    };

    default void accepted(ClientId client, long round, long verifyNanos, long bytes) {
    }

    default void rejected(String client, long round, RejectReason reason) {
    }

    default void roundClosed(long round, boolean completed, Duration wallTime, int accepted, int rejected) {
    }

    /** Tells {@code first}, then {@code second}; {@link #NONE} adds nothing. */
    static UpdateListener both(UpdateListener first, UpdateListener second) {
        if (first == NONE) {
            return second;
        }
        return new UpdateListener() {
            @Override
            public void accepted(ClientId client, long round, long verifyNanos, long bytes) {
                first.accepted(client, round, verifyNanos, bytes);
                second.accepted(client, round, verifyNanos, bytes);
            }

            @Override
            public void rejected(String client, long round, RejectReason reason) {
                first.rejected(client, round, reason);
                second.rejected(client, round, reason);
            }

            @Override
            public void roundClosed(long round, boolean completed, Duration wallTime, int accepted, int rejected) {
                first.roundClosed(round, completed, wallTime, accepted, rejected);
                second.roundClosed(round, completed, wallTime, accepted, rejected);
            }
        };
    }
}
