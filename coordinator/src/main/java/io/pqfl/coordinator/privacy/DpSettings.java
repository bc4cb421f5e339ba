package io.pqfl.coordinator.privacy;

import java.util.Locale;

/**
 * Central differential privacy settings ({@code docs/PRIVACY.md}): every accepted update's difference from the
 * round's global model is clipped to L2 norm {@code clip}, and the average of the clipped differences gets
 * Gaussian noise of standard deviation {@code updateNoiseMultiplier() * clip / n} per coordinate ({@code n}: the
 * updates averaged). Epsilon is reported at {@code delta}; a positive {@code epsilonBudget} is a ceiling the
 * federation refuses to start beyond, and stops before crossing (0: no ceiling).
 *
 * <p>{@code noiseMultiplier} is the multiplier the accountant counts each round at. With fixed clipping it is also
 * the noise on the updates. With {@code adaptive} clipping (null: fixed) {@code clip} is only the first round's norm,
 * and the noisy count that moves it is released too; the updates then get the larger
 * {@link #updateNoiseMultiplier()}, so that the two releases together are worth one Gaussian mechanism at
 * {@code noiseMultiplier} (Andrew et al. 2021, Theorem 1).
 */
public record DpSettings(double noiseMultiplier, double clip, double delta, double epsilonBudget,
                         AdaptiveClipping adaptive) {
    public static final double DEFAULT_DELTA = 1e-5;

    /**
     * Adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private Learning with Adaptive
     * Clipping", NeurIPS 2021): after each round the clip norm {@code C} moves geometrically towards the
     * {@code quantile} of the updates' norms,
     * <pre>
     *   b     = (#{i : ||d_i|| &lt;= C} + N(0, countStddev^2)) / n     the noisy share of updates not clipped
     *   C    &lt;- C * exp(-learningRate * (b - quantile))
     * </pre>
     *
     * @param quantile the target share of updates that are not clipped, in [0, 1]
     * @param learningRate the geometric update rate, &gt; 0 (the paper's eta_C; 0.2 by default)
     * @param countStddev the noise std on the count of unclipped updates, >= 0; {@code NaN} when not chosen yet: the
     *     paper's expected clients per round / 20, filled in by {@link DpSettings#forExpectedClients} once that
     *     number is known
     */
    public record AdaptiveClipping(double quantile, double learningRate, double countStddev) {
        public static final double DEFAULT_LEARNING_RATE = 0.2;
        /** The default count noise is the expected clients per round over this (the paper's choice). */
        public static final double CLIENTS_PER_COUNT_STDDEV = 20;

        public AdaptiveClipping {
            if (!(quantile >= 0 && quantile <= 1)) {
                throw new IllegalArgumentException("DP clip quantile must be in [0, 1], got " + quantile);
            }
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("DP clip learning rate must be finite and > 0, got " + learningRate);
            }
            if (!Double.isNaN(countStddev) && (!(countStddev >= 0) || Double.isInfinite(countStddev))) {
                throw new IllegalArgumentException("DP clipped-count noise std must be finite and >= 0, got " + countStddev);
            }
        }

        /** Whether {@link #countStddev} is chosen (not waiting for the expected number of clients). */
        public boolean countStddevChosen() {
            return !Double.isNaN(countStddev);
        }

        @Override
        public String toString() {
            return "adaptive(quantile=" + quantile + ", lr=" + learningRate + ", countStddev="
                    + (countStddevChosen() ? Double.toString(countStddev) : "clients/20") + ")";
        }
    }

    /** Fixed clipping. */
    public DpSettings(double noiseMultiplier, double clip, double delta, double epsilonBudget) {
        this(noiseMultiplier, clip, delta, epsilonBudget, null);
    }

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
        if (adaptive != null && adaptive.countStddevChosen() && noiseMultiplier > 0) {
            requireUpdateNoiseDefined(noiseMultiplier, adaptive.countStddev());
        }
    }

    /**
     * Theorem 1 of Andrew et al. needs {@code z^-2 > (2 sigma_b)^-2}, i.e. {@code 2 sigma_b > z}: the count's noise
     * alone must not already be worth more privacy than the whole budget of the round.
     */
    private static void requireUpdateNoiseDefined(double z, double countStddev) {
        if (!(2 * countStddev > z)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "adaptive clipping with DP noise multiplier %s needs a"
                    + " clipped-count noise std above %s / 2 = %s, got %s: the noise multiplier on the updates,"
                    + " (z^-2 - (2 * std)^-2)^(-1/2) (Andrew et al. 2021, Theorem 1), is defined only above it; raise"
                    + " --dp-clip-count-stddev (by default the expected clients per round / 20) or lower --dp-noise-multiplier",
                    z, z, z / 2, countStddev));
        }
    }

    /** Whether the clip norm adapts from round to round. */
    public boolean adaptiveClipping() {
        return adaptive != null;
    }

    /**
     * The noise multiplier applied to the sum of the clipped updates: {@link #noiseMultiplier} with fixed clipping;
     * with adaptive clipping {@code (z^-2 - (2 sigma_b)^-2)^(-1/2)}, larger than {@code z} because the noisy count
     * spends part of the round's privacy (0 when {@code z} is 0: no privacy is claimed).
     *
     * @throws IllegalStateException when the count's noise is not chosen yet ({@link #forExpectedClients})
     */
    public double updateNoiseMultiplier() {
        if (adaptive == null || noiseMultiplier == 0) {
            return noiseMultiplier;
        }
        if (!adaptive.countStddevChosen()) {
            throw new IllegalStateException("the clipped-count noise std is not chosen yet (forExpectedClients)");
        }
        double twoSigmaB = 2 * adaptive.countStddev();
        return 1 / Math.sqrt(1 / (noiseMultiplier * noiseMultiplier) - 1 / (twoSigmaB * twoSigmaB));
    }

    /**
     * These settings with the clipped-count noise std chosen for rounds of about {@code expectedClients} updates when
     * it was left to its default ({@code expectedClients / 20}); unchanged otherwise.
     *
     * @throws IllegalArgumentException when that default leaves the update noise undefined (see the message)
     */
    public DpSettings forExpectedClients(int expectedClients) {
        if (adaptive == null || adaptive.countStddevChosen()) {
            return this;
        }
        if (expectedClients < 1) {
            throw new IllegalArgumentException("expected clients per round must be >= 1, got " + expectedClients);
        }
        double std = expectedClients / AdaptiveClipping.CLIENTS_PER_COUNT_STDDEV;
        try {
            return new DpSettings(noiseMultiplier, clip, delta, epsilonBudget,
                    new AdaptiveClipping(adaptive.quantile(), adaptive.learningRate(), std));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (the default std for " + expectedClients
                    + " clients per round is " + expectedClients + " / 20 = " + std + ")", e);
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
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the planned %d rounds would spend epsilon %.3f at delta %g (sampling rate %.4g, noise multiplier %s),"
                            + " over the DP epsilon budget %s: lower --rounds, raise --dp-noise-multiplier, or raise the budget",
                    rounds, eps, delta, rate, noiseMultiplier, epsilonBudget));
        }
    }

    @Override
    public String toString() {
        return "dp(noiseMultiplier=" + noiseMultiplier + ", clip=" + clip + ", delta=" + delta
                + (hasBudget() ? ", epsilonBudget=" + epsilonBudget : "")
                + (adaptive == null ? "" : ", " + adaptive
                        + (adaptive.countStddevChosen() ? ", updateNoiseMultiplier=" + updateNoiseMultiplier() : ""))
                + ")";
    }
}
