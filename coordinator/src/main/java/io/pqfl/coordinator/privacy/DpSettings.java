package io.pqfl.coordinator.privacy;

/**
 * Central differential privacy settings ({@code docs/PRIVACY.md}): every accepted update's difference from the
 * round's global model is clipped to L2 norm {@code clip}, and the average of the clipped differences gets
 * Gaussian noise of standard deviation {@code noiseMultiplier * clip / n} per coordinate ({@code n}: the updates
 * averaged). Epsilon is reported at {@code delta}; a positive {@code epsilonBudget} is a ceiling the federation
 * refuses to start beyond, and stops before crossing (0: no ceiling).
 */
public record DpSettings(double noiseMultiplier, double clip, double delta, double epsilonBudget) {
    public static final double DEFAULT_DELTA = 1e-5;

    public DpSettings {
        if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
            throw new IllegalArgumentException("DP noise multiplier must be finite and >= 0, got " + noiseMultiplier);
        }
        if (!(clip > 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("DP clip (an L2 norm) must be finite and > 0, got " + clip);
        }
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("DP delta must be in (0, 1), got " + delta);
        }
        if (!(epsilonBudget >= 0) || Double.isInfinite(epsilonBudget)) {
            throw new IllegalArgumentException("DP epsilon budget must be finite and > 0 (or 0: none), got " + epsilonBudget);
        }
        if (epsilonBudget > 0 && noiseMultiplier == 0) {
            throw new IllegalArgumentException("an epsilon budget needs noise: with DP noise multiplier 0, epsilon is infinite");
        }
    }

    /** Whether a ceiling on epsilon is set. */
    public boolean hasBudget() {
        return epsilonBudget > 0;
    }

    /**
     * Refuses a plan whose {@code rounds} at sampling rate {@code rate} would spend more than the budget, naming
     * what to change. Does nothing without a budget.
     */
    public void checkPlan(int rounds, double rate) {
        if (!hasBudget()) {
            return;
        }
        RdpAccountant a = new RdpAccountant();
        double eps = a.epsilonAfter(rate, noiseMultiplier, rounds, delta);
        if (eps > epsilonBudget) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "the planned %d rounds would spend epsilon %.3f at delta %g (sampling rate %.4g, noise multiplier %s),"
                            + " over the DP epsilon budget %s: lower --rounds, raise --dp-noise-multiplier, or raise the budget",
                    rounds, eps, delta, rate, noiseMultiplier, epsilonBudget));
        }
    }

    @Override
    public String toString() {
        return "dp(noiseMultiplier=" + noiseMultiplier + ", clip=" + clip + ", delta=" + delta
                + (hasBudget() ? ", epsilonBudget=" + epsilonBudget : "") + ")";
    }
}
