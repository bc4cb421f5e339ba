package io.pqfl.coordinator.round;

import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import java.time.Duration;
import java.util.List;

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

    /**
     * Round {@code round} opened ({@code evaluation} false) or the evaluation of its model opened (true) with these
     * sampled clients. Called outside the engine's lock; must not block.
     */
    default void sampled(long round, boolean evaluation, List<ClientId> clients) {
    }

    /** The federation finished after {@code rounds} rounds. Called outside the engine's lock; must not block. */
    default void finished(long rounds) {
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

            @Override
            public void sampled(long round, boolean evaluation, List<ClientId> clients) {
                first.sampled(round, evaluation, clients);
                second.sampled(round, evaluation, clients);
            }

            @Override
            public void finished(long rounds) {
                first.finished(rounds);
                second.finished(rounds);
            }
        };
    }
}
