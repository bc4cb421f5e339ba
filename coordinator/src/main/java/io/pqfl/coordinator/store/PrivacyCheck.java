package io.pqfl.coordinator.store;

import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.privacy.RdpAccountant;
import java.util.Locale;

/**
 * {@link LedgerVerifier}'s check of the {@code PRIVACY_SPENT} entries: each one is a round's spending, in rising
 * rounds, immediately followed by its round's {@code MODEL_PUBLISHED} or {@code ROUND_SKIPPED} (it is written in that
 * transaction, so the model's signature covers it); its round epsilon is what one sampled Gaussian mechanism at its
 * rate and noise multiplier costs; and its total is at least what the ledgered rounds compose to. A total above
 * that is allowed: the coordinator counts a round whose rate it does not know (one resumed after a restart, one
 * closed before the ledger held the spending) at rate 1, which over-states epsilon; a total below it would
 * under-state what the ledger shows was released.
 */
final class PrivacyCheck {
    /** Relative slack for the floating-point sums (the accountant adds 255 orders in log space). */
    private static final double SLACK = 1e-9;

    private final RdpAccountant composed = new RdpAccountant();
    private PrivacySpent last;
    private long lastSeq;
    private PrivacySpent open; // ledgered, its round's close not seen yet
    private int rounds;

    /** A {@code PRIVACY_SPENT} entry; throws {@link IllegalArgumentException} saying what is wrong. */
    void spent(LedgerEntry e) {
        if (!Ledger.PRIVACY_REASON.equals(e.reason()) || e.statement() != null || e.clientId() != null) {
            throw new IllegalArgumentException("a PRIVACY_SPENT entry has reason " + Ledger.PRIVACY_REASON
                    + " and no statement or client");
        }
        PrivacySpent s = PrivacySpent.parse(e.round(), e.detail());
        if (last != null && s.round() <= last.round()) {
            throw new IllegalArgumentException("DP spending of round " + s.round() + " after round " + last.round() + "'s");
        }
        RdpAccountant alone = new RdpAccountant();
        alone.compose(s.rate(), s.noiseMultiplier(), 1);
        double roundEpsilon = alone.epsilon(s.delta());
        if (!close(s.roundEpsilon(), roundEpsilon)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "round %d's DP spending says epsilon %s for the"
                    + " round, but one round at sampling rate %s and noise multiplier %s costs %s at delta %s", s.round(),
                    s.roundEpsilon(), s.rate(), s.noiseMultiplier(), roundEpsilon, s.delta()));
        }
        composed.compose(s.rate(), s.noiseMultiplier(), 1);
        double floor = composed.epsilon(s.delta());
        if (s.totalEpsilon() < floor && !close(s.totalEpsilon(), floor)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "round %d's DP spending says epsilon %s in all,"
                    + " less than the %d ledgered rounds so far compose to (%s at delta %s): it under-states what was"
                    + " released", s.round(), s.totalEpsilon(), rounds + 1, floor, s.delta()));
        }
        last = s;
        lastSeq = e.seq();
        open = s;
        rounds++;
    }

    /**
     * Every entry, before its own check: an entry after a {@code PRIVACY_SPENT} must close that round (its model, or
     * its skip).
     */
    void next(LedgerEntry e) {
        if (open == null) {
            return;
        }
        boolean closes = (e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED || e.kind() == LedgerEntry.Kind.ROUND_SKIPPED)
                && e.round() == open.round();
        if (!closes) {
            throw new IllegalArgumentException("the DP spending of round " + open.round() + " (entry " + lastSeq
                    + ") is followed by " + e.kind() + " of round " + e.round() + ", not by its round's MODEL_PUBLISHED or"
                    + " ROUND_SKIPPED");
        }
        open = null;
    }

    /** At the end of the ledger: the sequence number of a spending whose round never closed, or null. */
    Long unclosed() {
        return open == null ? null : lastSeq;
    }

    /** What the verifier reports, or null when no round was ledgered. */
    String note() {
        if (last == null) {
            return null;
        }
        return String.format(Locale.ROOT, "central differential privacy: %d rounds' spending ledgered, each round's epsilon"
                        + " recomputed from its sampling rate and noise multiplier and each total at least what the ledgered"
                        + " rounds compose to; after round %d: epsilon %.4f at delta %s (that round: %.4f at sampling rate"
                        + " %.4g, noise multiplier %s, %d/%d updates clipped to %.6g%s)",
                rounds, last.round(), last.totalEpsilon(), last.delta(), last.roundEpsilon(), last.rate(),
                last.noiseMultiplier(), last.clipped(), last.updates(), last.clip(),
                last.nextClip() == last.clip() ? "" : String.format(Locale.ROOT, ", next clip norm %.6g", last.nextClip()));
    }

    private static boolean close(double a, double b) {
        if (Double.isInfinite(a) || Double.isInfinite(b)) {
            return a == b;
        }
        return Math.abs(a - b) <= SLACK * Math.max(1, Math.abs(b));
    }
}
