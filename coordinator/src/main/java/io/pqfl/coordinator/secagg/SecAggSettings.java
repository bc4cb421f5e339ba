package io.pqfl.coordinator.secagg;

import java.time.Duration;
import java.util.Objects;

/**
 * How a coordinator runs secure aggregation (docs/PRIVACY.md).
 *
 * @param neighbours   each client's neighbours in the SecAgg+ graph; 0 picks {@code min(n-1, 2 ceil(log2 n) + 4)} for
 *                     the {@code n} clients that advertised keys (a complete graph up to 12 clients)
 * @param threshold    shares needed to reconstruct a seed; 0 picks {@code floor(k/2) + 1} for {@code k} neighbours
 * @param clip         the clipping range of each coordinate of an update's difference from the global model
 * @param weightCap    the largest example weight a client may give its update (1 for unweighted strategies)
 * @param phaseTimeout how long the key-advertisement, share and unmask phases wait for slow clients
 */
public record SecAggSettings(int neighbours, int threshold, double clip, long weightCap, Duration phaseTimeout) {
    public static final double DEFAULT_CLIP = 1.0;
    public static final long DEFAULT_WEIGHT_CAP = 65_536;
    public static final Duration DEFAULT_PHASE_TIMEOUT = Duration.ofSeconds(30);
    /** Shamir shares over GF(2^8) number at most 255; a Harary graph rounds an odd degree up. */
    public static final int MAX_NEIGHBOURS = 253;

    public SecAggSettings {
        Objects.requireNonNull(phaseTimeout, "phaseTimeout");
        if (neighbours < 0 || neighbours == 1) {
            throw new IllegalArgumentException("secure aggregation needs at least 2 neighbours per client (0: automatic), got "
                    + neighbours);
        }
        if (threshold < 0 || threshold == 1) {
            throw new IllegalArgumentException("the secure-aggregation threshold must be at least 2 (0: automatic), got "
                    + threshold);
        }
        if (neighbours > MAX_NEIGHBOURS) {
            throw new IllegalArgumentException("at most " + MAX_NEIGHBOURS + " neighbours per client (Shamir shares over GF(2^8)), got "
                    + neighbours);
        }
        if (neighbours > 0 && threshold > neighbours) {
            throw new IllegalArgumentException("the threshold " + threshold + " is larger than the " + neighbours
                    + " neighbours that hold shares");
        }
        if (neighbours > 0 && threshold > 0 && 2 * threshold <= neighbours) {
            throw new IllegalArgumentException("the threshold " + threshold + " must be more than half of the " + neighbours
                    + " neighbours: else a coordinator could gather a client's self-mask shares from one half and its "
                    + "pairwise-seed shares from the other");
        }
        if (!(clip > 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("the secure-aggregation clipping range must be positive, got " + clip);
        }
        if (weightCap < 1) {
            throw new IllegalArgumentException("the weight cap must be at least 1");
        }
        if (phaseTimeout.isNegative() || phaseTimeout.isZero()) {
            throw new IllegalArgumentException("the phase timeout must be positive");
        }
    }

    public static SecAggSettings defaults() {
        return new SecAggSettings(0, 0, DEFAULT_CLIP, DEFAULT_WEIGHT_CAP, DEFAULT_PHASE_TIMEOUT);
    }

    /** The neighbours of each of {@code n} clients. */
    public int degreeFor(int n) {
        int auto = 2 * (32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1))) + 4;
        int k = neighbours > 0 ? neighbours : auto;
        return Math.max(0, Math.min(Math.min(n - 1, MAX_NEIGHBOURS), k));
    }

    /** The threshold for clients with {@code degree} neighbours: always more than half of them. */
    public int thresholdFor(int degree) {
        return Math.max(threshold, degree / 2 + 1);
    }

    @Override
    public String toString() {
        return "neighbours " + (neighbours == 0 ? "auto" : neighbours) + ", threshold " + (threshold == 0 ? "auto" : threshold)
                + ", clip " + clip + ", weight cap " + weightCap + ", phase timeout " + phaseTimeout.toSeconds() + " s";
    }
}
