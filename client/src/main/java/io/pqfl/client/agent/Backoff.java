package io.pqfl.client.agent;

import java.time.Duration;
import java.util.Objects;
import java.util.Random;

/**
 * Exponential backoff with jitter, capped: the n-th delay (from 0) is drawn uniformly from {@code [d/2, d]}
 * where {@code d = min(initial · 2^n, cap)}. Half the delay is random so that clients cut off by the same
 * coordinator restart do not all come back in the same instant; the other half keeps the wait growing. One
 * instance per retry loop, not shared between threads; {@link #reset()} after the call succeeds.
 */
final class Backoff {
    /** The first ceiling of every retry loop in the agent. */
    static final Duration INITIAL = Duration.ofMillis(250);

    private final long initialMillis;
    private final long capMillis;
    private final Random random;
    private long ceilingMillis;

    Backoff(Duration initial, Duration cap, Random random) {
        this.initialMillis = positiveMillis(initial, "initial");
        this.capMillis = positiveMillis(cap, "cap");
        this.random = Objects.requireNonNull(random, "random");
        reset();
    }

    private static long positiveMillis(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
        return d.toMillis();
    }

    /** The delay before the next attempt; each call doubles the ceiling until it reaches the cap. */
    Duration next() {
        long ceiling = ceilingMillis;
        ceilingMillis = ceiling >= capMillis - ceiling ? capMillis : ceiling * 2; // min(2c, cap) without overflow
        long floor = ceiling / 2;
        return Duration.ofMillis(floor + (long) (random.nextDouble() * (ceiling - floor + 1)));
    }

    /** Starts again from the initial ceiling. */
    void reset() {
        ceilingMillis = Math.min(initialMillis, capMillis);
    }
}
