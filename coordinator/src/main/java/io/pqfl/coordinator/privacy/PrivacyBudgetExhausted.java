package io.pqfl.coordinator.privacy;

import java.util.Locale;

/** The federation stopped before a round that would have spent more than the DP epsilon budget. */
public final class PrivacyBudgetExhausted extends IllegalStateException {
    public PrivacyBudgetExhausted(long lastRound, double spent, DpSettings dp) {
        super(String.format(Locale.ROOT, "differential privacy budget reached: stopped after round %d with epsilon %.4f spent"
                + " (delta %g); one more round would exceed the budget %s", lastRound, spent, dp.delta(), dp.epsilonBudget()));
    }
}
