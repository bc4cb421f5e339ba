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
}
