package io.pqfl.coordinator;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The one way tests wait for another thread's or process's work: a condition they can observe, a timeout, and
 * a name for what they await. No bare sleeps as synchronisation, no hand-written polling loops. It fails the
 * test (an {@link AssertionError} naming what was awaited) when the timeout passes, so a wait can never end
 * quietly with the thing not done. Public, in the coordinator's test jar, for the other modules' tests too.
 */
public final class Await {
    /** How often the condition is checked. */
    private static final Duration POLL = Duration.ofMillis(10);

    private Await() {
    }

    /** A condition to wait for; it may throw (a file not there yet, say), which fails the wait at once. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits until {@code condition} holds; fails with {@code what} after {@code timeout}. */
    public static void until(Duration timeout, String what, Condition condition) {
        until(timeout, what, condition, () -> null);
    }

    /**
     * As {@link #until(Duration, String, Condition)}; on timeout the failure also carries {@code diagnosis}, what the
     * test can say about why (a child process's log, say), computed only then.
     */
    public static void until(Duration timeout, String what, Condition condition, Supplier<String> diagnosis) {
        Objects.requireNonNull(what, "what");
        long end = System.nanoTime() + timeout.toNanos();
        while (!check(what, condition)) {
            if (System.nanoTime() - end > 0) {
                String why = diagnosis.get();
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                        + (why == null ? "" : "\n" + why));
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
    }

    private static boolean check(String what, Condition condition) {
        try {
            return condition.holds();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new AssertionError("could not check " + what + ": " + e, e);
        }
    }
}
