package io.pqfl.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.privacy.RdpAccountant;
import org.junit.jupiter.api.Test;

/** The ledger verifier's check of PRIVACY_SPENT entries, entry by entry. */
class PrivacyCheckTest {
    private static long seq;

    private static LedgerEntry entry(LedgerEntry.Kind kind, long round, String reason, String detail) {
        return new LedgerEntry(++seq, kind, round, null, null, null, null, null, null, reason, detail, "t", null, null);
    }

    private static LedgerEntry spent(PrivacySpent s) {
        return entry(LedgerEntry.Kind.PRIVACY_SPENT, s.round(), Ledger.PRIVACY_REASON, s.describe());
    }

    private static LedgerEntry model(long round) {
        return entry(LedgerEntry.Kind.MODEL_PUBLISHED, round, null, null);
    }

    private static double epsilon(double rate, double z, int rounds) {
        RdpAccountant a = new RdpAccountant();
        a.compose(rate, z, rounds);
        return a.epsilon(1e-5);
    }

    /** Round {@code r} of a run at (rate, z) whose coordinator reports {@code total}. */
    private static PrivacySpent round(long r, double rate, double z, double total) {
        return new PrivacySpent(r, rate, 10, 3, 1.0, 1.1, z, epsilon(rate, z, 1), total, 1e-5);
    }

    @Test
    void consistentRounds_passAndAreShown_andAnOverStatedTotalIsAllowed() {
        PrivacyCheck check = new PrivacyCheck();
        for (LedgerEntry e : new LedgerEntry[] {spent(round(1, 0.1, 1.0, epsilon(0.1, 1.0, 1))), model(1),
                // after a restart the coordinator counts round 1 again at rate 1: more than the ledger shows, allowed
                spent(round(3, 0.1, 1.0, epsilon(1.0, 1.0, 2) + 1)),
                entry(LedgerEntry.Kind.ROUND_SKIPPED, 3, "BAD_AGGREGATE", "x")}) {
            check.next(e);
            if (e.kind() == LedgerEntry.Kind.PRIVACY_SPENT) {
                check.spent(e);
            }
        }
        assertThat(check.unclosed()).isNull();
        assertThat(check.note()).startsWith("central differential privacy: 2 rounds' spending ledgered")
                .contains("after round 3").contains("next clip norm 1.10000");
    }

    @Test
    void aTotalBelowWhatTheLedgeredRoundsCompose_isRefused() {
        PrivacyCheck check = new PrivacyCheck();
        check.spent(spent(round(1, 0.5, 1.0, epsilon(0.5, 1.0, 1))));
        check.next(model(1));
        double twoRounds = epsilon(0.5, 1.0, 2);
        assertThatThrownBy(() -> check.spent(spent(round(2, 0.5, 1.0, twoRounds * 0.999))))
                .hasMessageContaining("round 2's DP spending says epsilon").hasMessageContaining("under-states");
    }

    @Test
    void aRoundEpsilonThatIsNotItsRatesAndMultipliers_isRefused() {
        PrivacySpent honest = round(1, 0.5, 1.0, epsilon(0.5, 1.0, 1));
        PrivacySpent lowRate = new PrivacySpent(1, 0.05, 10, 3, 1.0, 1.0, 1.0, honest.roundEpsilon(), honest.totalEpsilon(),
                1e-5);
        assertThatThrownBy(() -> new PrivacyCheck().spent(spent(lowRate)))
                .hasMessageContaining("says epsilon " + honest.roundEpsilon() + " for the round")
                .hasMessageContaining("sampling rate 0.05 and noise multiplier 1.0 costs");
    }

    @Test
    void aSpendingNotClosedByItsRoundsModelOrSkip_isRefused() {
        PrivacyCheck check = new PrivacyCheck();
        LedgerEntry s = spent(round(1, 0.5, 1.0, epsilon(0.5, 1.0, 1)));
        check.spent(s);
        assertThat(check.unclosed()).isEqualTo(s.seq());
        assertThatThrownBy(() -> check.next(model(2))).hasMessageContaining("the DP spending of round 1 (entry " + s.seq()
                + ") is followed by MODEL_PUBLISHED of round 2");
        assertThatThrownBy(() -> check.next(entry(LedgerEntry.Kind.UPDATE_ACCEPTED, 1, null, null)))
                .hasMessageContaining("followed by UPDATE_ACCEPTED");
    }

    @Test
    void malformedOrMisplacedSpending_isRefused() {
        assertThatThrownBy(() -> new PrivacyCheck().spent(entry(LedgerEntry.Kind.PRIVACY_SPENT, 1, Ledger.PRIVACY_REASON,
                "dp_epsilon=1.0 dp_round_epsilon=x"))).hasMessageContaining("malformed DP spending");
        String good = round(1, 0.5, 1.0, epsilon(0.5, 1.0, 1)).describe();
        assertThatThrownBy(() -> new PrivacyCheck().spent(entry(LedgerEntry.Kind.PRIVACY_SPENT, 1, Ledger.PRIVACY_REASON,
                good.replace("dp_clipped=3/10", "dp_clipped=11/10")))).hasMessageContaining("not a round's DP spending");
        assertThatThrownBy(() -> new PrivacyCheck().spent(entry(LedgerEntry.Kind.PRIVACY_SPENT, 1, "OTHER", good)))
                .hasMessageContaining("reason CENTRAL_DP");
        PrivacyCheck check = new PrivacyCheck();
        check.spent(spent(round(2, 0.5, 1.0, epsilon(0.5, 1.0, 1))));
        check.next(model(2));
        assertThatThrownBy(() -> check.spent(spent(round(1, 0.5, 1.0, epsilon(0.5, 1.0, 2)))))
                .hasMessageContaining("DP spending of round 1 after round 2's");
    }

    @Test
    void theLedgerFormReadsBackExactly() {
        PrivacySpent s = new PrivacySpent(7, 1.0 / 3, 20, 7, 0.1 + 0.2, Math.PI, 1.1, 0.123456789012345678, 2.5e-3 / 3, 1e-5);
        assertThat(PrivacySpent.parse(7, s.describe())).isEqualTo(s);
        PrivacySpent noNoise = new PrivacySpent(1, 1, 2, 2, 0.5, 0.5, 0, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY,
                1e-5);
        assertThat(PrivacySpent.parse(1, noNoise.describe())).isEqualTo(noNoise);
        assertThatThrownBy(() -> PrivacySpent.parse(1, s.describe() + " dp_extra=1")).hasMessageContaining("unknown fields");
        assertThatThrownBy(() -> PrivacySpent.parse(1, s.describe() + " dp_rate=1")).hasMessageContaining("malformed");
    }
}
