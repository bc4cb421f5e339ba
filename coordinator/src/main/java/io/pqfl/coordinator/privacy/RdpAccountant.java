package io.pqfl.coordinator.privacy;

import java.util.Arrays;

/**
 * A privacy accountant for the sampled Gaussian mechanism, by Rényi differential privacy (RDP).
 *
 * <p>Each round is one application of the sampled Gaussian mechanism: every client is in the round with
 * probability {@code q}, and the sum of the clipped contributions gets Gaussian noise of standard deviation
 * {@code sigma} times the sensitivity. Its RDP at integer order {@code alpha >= 2} is (Mironov, Talwar, Zhang,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019, Section 3.3)
 * <pre>
 *   rdp(alpha) = log A(alpha) / (alpha - 1),
 *   A(alpha)   = sum_{i=0..alpha} C(alpha, i) (1-q)^(alpha-i) q^i exp((i^2 - i) / (2 sigma^2)),
 * </pre>
 * summed in log space (each term's logarithm, combined with log-sum-exp) so that large orders neither overflow nor
 * lose the small terms. With {@code q = 1} it is the Gaussian mechanism's closed form {@code alpha / (2 sigma^2)}.
 * RDP composes by addition over rounds (at each order), and is turned into {@code (epsilon, delta)} by
 * {@code epsilon = min over alpha of rdp(alpha) + log(1/delta) / (alpha - 1)} (Mironov, "Rényi Differential
 * Privacy", 2017, Proposition 3; TensorFlow Privacy's {@code get_privacy_spent} before its 2021 change). Newer
 * conversions are a little tighter; this one is the conservative, textbook one.
 *
 * <p>The orders are the integers 2..256 (fractional orders would tighten epsilon by a few percent; they are not
 * computed). Not thread-safe.
 */
public final class RdpAccountant {
    /** The orders considered: the integers 2..256. */
    static final int MIN_ORDER = 2;
    static final int MAX_ORDER = 256;

    private final double[] rdp = new double[MAX_ORDER - MIN_ORDER + 1];
    private long steps;

    /** Adds {@code steps} applications of the sampled Gaussian mechanism with rate {@code q} and noise {@code sigma}. */
    public void compose(double q, double sigma, long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        double[] one = rdp(q, sigma);
        for (int k = 0; k < rdp.length; k++) {
            rdp[k] += steps * one[k];
        }
        this.steps += steps;
    }

    /** The mechanisms composed so far. */
    public long steps() {
        return steps;
    }

    /** The epsilon spent so far at {@code delta} (0 before any step; infinite when sigma was 0). */
    public double epsilon(double delta) {
        return steps == 0 ? 0 : epsilon(rdp, delta);
    }

    /** The epsilon this accountant would reach after {@code steps} more steps of (q, sigma); it is not changed. */
    public double epsilonAfter(double q, double sigma, long more, double delta) {
        double[] one = rdp(q, sigma);
        double[] total = rdp.clone();
        for (int k = 0; k < total.length; k++) {
            total[k] += more * one[k];
        }
        return steps + more == 0 ? 0 : epsilon(total, delta);
    }

    /** The RDP of one step at each order 2..256 (index 0 is order 2). */
    static double[] rdp(double q, double sigma) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("sampling rate must be in [0, 1], got " + q);
        }
        if (!(sigma >= 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("noise multiplier must be finite and >= 0, got " + sigma);
        }
        double[] out = new double[MAX_ORDER - MIN_ORDER + 1];
        for (int alpha = MIN_ORDER; alpha <= MAX_ORDER; alpha++) {
            out[alpha - MIN_ORDER] = rdpAtOrder(q, sigma, alpha);
        }
        return out;
    }

    /** One step's RDP at integer order {@code alpha}. */
    static double rdpAtOrder(double q, double sigma, int alpha) {
        if (q == 0) {
            return 0;
        }
        if (sigma == 0) {
            return Double.POSITIVE_INFINITY;
        }
        if (q == 1) {
            return alpha / (2 * sigma * sigma);
        }
        double logQ = Math.log(q);
        double log1mQ = Math.log1p(-q);
        double logA = Double.NEGATIVE_INFINITY;
        for (int i = 0; i <= alpha; i++) {
            double term = logBinomial(alpha, i) + i * logQ + (alpha - i) * log1mQ + (i * (double) i - i) / (2 * sigma * sigma);
            logA = logAdd(logA, term);
        }
        return logA / (alpha - 1);
    }

    private static double epsilon(double[] rdp, double delta) {
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
        double best = Double.POSITIVE_INFINITY;
        for (int k = 0; k < rdp.length; k++) {
            int alpha = k + MIN_ORDER;
            best = Math.min(best, rdp[k] + Math.log(1 / delta) / (alpha - 1));
        }
        return best;
    }

    /** log C(n, k), exactly enough for n <= 256: a sum of logarithms. */
    static double logBinomial(int n, int k) {
        k = Math.min(k, n - k);
        double s = 0;
        for (int j = 1; j <= k; j++) {
            s += Math.log(n - k + j) - Math.log(j);
        }
        return s;
    }

    private static double logAdd(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        double hi = Math.max(a, b);
        return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
    }

    @Override
    public String toString() {
        return "RdpAccountant[" + steps + " steps, orders " + MIN_ORDER + ".." + MAX_ORDER + ", rdp(2)="
                + Arrays.toString(Arrays.copyOf(rdp, 1)) + "]";
    }
}
