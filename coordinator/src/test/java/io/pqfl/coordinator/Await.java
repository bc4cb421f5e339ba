package io.pqfl.coordinator;

import java.time.Duration;
import java.util.concurrent.Callable;

/** The one polling helper for tests that wait on another thread's work: no bare sleeps as synchronisation. */
final class Await {
    private Await() {
    }

    /** Polls {@code condition} until it holds; fails with {@code what} after {@code timeout}. */
    static void until(Duration timeout, String what, Callable<Boolean> condition) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (!Boolean.TRUE.equals(condition.call())) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
