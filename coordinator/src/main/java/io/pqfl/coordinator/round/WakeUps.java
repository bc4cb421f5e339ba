package io.pqfl.coordinator.round;

import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The machine's deadlines on a timer: one wake-up per distinct instant (a round's deadline, a wait's end), each
 * fed back to the machine as a tick. Nothing is scheduled once the engine stops.
 */
final class WakeUps {
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private final Set<Instant> pending = new HashSet<>();
    private boolean stopped;

    WakeUps(Clock clock, ScheduledExecutorService timer) {
        this.clock = clock;
        this.timer = timer;
    }

    /** Runs {@code tick} at {@code at} (at once if it has passed), unless a wake-up for that instant is pending. */
    void at(Instant at, Runnable tick) {
        synchronized (pending) {
            if (stopped || !pending.add(at)) {
                return;
            }
        }
        long delay = Math.max(0, at.toEpochMilli() - clock.millis());
        timer.schedule(() -> {
            synchronized (pending) {
                pending.remove(at);
                if (stopped) {
                    return;
                }
            }
            tick.run();
        }, delay, TimeUnit.MILLISECONDS);
    }

    void stop() {
        synchronized (pending) {
            stopped = true;
            pending.clear();
        }
    }
}
