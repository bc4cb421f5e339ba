package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.privacy.DpSettings;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.privacy.RdpAccountant;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Central differential privacy around a sum-based strategy (FedAvg, FedProx, the FedOpt family), in the shape of
 * DP-FedAvg with fixed clipping (McMahan et al., "Learning Differentially Private Recurrent Language Models",
 * 2018; Flower's server-side fixed clipping). For a round with global model {@code g} and accepted updates
 * {@code w_1..w_n} it computes
 * <pre>
 *   d_i   = (w_i - g) * min(1, C / ||w_i - g||_2)          each update's difference, clipped to L2 norm C
 *   avg   = (1/n) sum_i d_i + N(0, (z C / n)^2 I)           every coordinate gets independent Gaussian noise
 *   model = g + avg                                         FedAvg, FedProx
 *   model = inner server step from g towards g + avg        FedAdam, FedYogi, FedAdagrad
 * </pre>
 * with {@code z} the noise multiplier. The mean is unweighted whatever the inner strategy's weighting: an
 * example-weighted mean would let one client's claimed example count scale its influence past {@code C / n}.
 * The noise comes from a {@link SecureRandom} ({@code nextGaussian}).
 *
 * <p>With adaptive clipping ({@link DpSettings#adaptive()}; Andrew et al., "Differentially Private Learning with
 * Adaptive Clipping", 2021) {@code C} starts at {@link DpSettings#clip()} and after each round moves to
 * {@code C * exp(-lr * (b - quantile))}, where {@code b} is the share of the round's updates whose norm was at most
 * {@code C}, counted with Gaussian noise of std {@code sigma_b}. The count is a release too, so the updates get the
 * noise multiplier {@code z_u = (z^-2 - (2 sigma_b)^-2)^(-1/2)} ({@link DpSettings#updateNoiseMultiplier()}) instead
 * of {@code z}; by the paper's Theorem 1 the round is then worth one Gaussian mechanism at {@code z}, which is what
 * the accountant counts.
 *
 * <p>Privacy is accounted per round as one sampled Gaussian mechanism with rate {@code q = sampled / eligible live
 * clients at round open} ({@link RdpAccountant}); a round whose rate is not known (one resumed after a restart, or
 * rounds closed before it) counts with {@code q = 1}, which over-states epsilon, never under-states it. A round
 * is counted when its noisy aggregate is computed, even if it is then not published. With a budget, a round whose
 * composition would cross it is refused before any noise is drawn (the round is skipped, nothing is released).
 */
public final class CentralDp extends WrappingStrategy {
    private static final Logger log = LoggerFactory.getLogger(CentralDp.class);

    private final DpSettings dp;
    private final Random random;
    private final RdpAccountant accountant = new RdpAccountant();
    private final Map<Long, Double> rates = new ConcurrentHashMap<>();
    private long accountedThrough; // the last round composed into the accountant
    private double lastRate = 1;
    private volatile PrivacySpent last;
    private volatile double clip; // the norm the next round clips to: dp.clip(), then as adaptive clipping moves it

    /**
     * @throws IllegalArgumentException when {@code inner} is not a sum-based strategy (median, trimmed mean and
     *     Krum select or sort updates, so a clipped update's influence on them is not bounded by the noise's scale)
     */
    public CentralDp(Strategy inner, DpSettings dp, SecureRandom random) {
        this(inner, dp, (Random) Objects.requireNonNull(random, "random"));
    }

    /** Test seam: a strategy with a seeded source of noise (never outside tests: the noise must be unpredictable). */
    static CentralDp withRandom(Strategy inner, DpSettings dp, Random random) {
        return new CentralDp(inner, dp, random);
    }

    private CentralDp(Strategy inner, DpSettings dp, Random random) {
        super(inner);
        this.dp = Objects.requireNonNull(dp, "dp");
        this.random = random;
        requireSumBased(inner);
        if (dp.adaptiveClipping() && !dp.adaptive().countStddevChosen()) {
            throw new IllegalArgumentException("adaptive clipping needs its clipped-count noise std chosen "
                    + "(DpSettings.forExpectedClients)");
        }
        this.clip = dp.clip();
    }

    /** Refuses a strategy central DP cannot wrap, with a message that names the ones it can. */
    public static void requireSumBased(Strategy inner) {
        if (!(inner instanceof FedAvg || inner instanceof FedOpt)) {
            throw new IllegalArgumentException("differential privacy (--dp-noise-multiplier) works only with the sum-based "
                    + "strategies fedavg, fedprox, fedadam, fedyogi and fedadagrad, not " + inner.name()
                    + ": its aggregate is not a noised average, so clipping and noise would not bound one client's influence");
        }
    }

    public DpSettings settings() {
        return dp;
    }

    /** The inner strategy's sample; its size over the eligible clients is the round's sampling rate. */
    @Override
    public List<ClientId> sample(long round, List<ClientId> eligible, int count, Random sampling) {
        List<ClientId> chosen = inner.sample(round, eligible, count, sampling);
        if (!eligible.isEmpty()) {
            rates.put(round, Math.min(1.0, (double) chosen.size() / eligible.size()));
        }
        return chosen;
    }

    /**
     * The sampling rates recorded by {@link #sample} for rounds not yet accounted, by round (a copy): each is what its
     * round's aggregate will be accounted at. Only training rounds belong here; a round's entry goes once it is
     * accounted.
     */
    public Map<Long, Double> pendingRates() {
        return Map.copyOf(rates);
    }

    /** The newest round's spending, or null before the first noised round. */
    public PrivacySpent lastSpent() {
        return last;
    }

    /** The clip norm the next round's updates are clipped to ({@link DpSettings#clip()} unless it adapts). */
    public double clipNorm() {
        return clip;
    }

    /** Epsilon spent so far at the configured delta (0 before the first round). */
    public double totalEpsilon() {
        PrivacySpent s = last;
        return s == null ? 0 : s.totalEpsilon();
    }

    /**
     * Whether one more round at the newest round's sampling rate would cross the budget (false without one): the
     * federation stops before such a round.
     */
    public synchronized boolean nextRoundWouldExceedBudget() {
        return dp.hasBudget() && accountant.epsilonAfter(lastRate, dp.noiseMultiplier(), 1, dp.delta()) > dp.epsilonBudget();
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        ModelWeights sum = ModelWeights.zeros(global.manifest());
        double roundClip = clip; // rounds run one after another: the previous round moved it before this one began
        return new RoundAggregator() {
            private int count;
            private int clipped;

            @Override
            public void accept(VerifiedUpdate update) {
                ModelWeights w = update.weights();
                if (!w.manifest().sameTensors(global.manifest())) {
                    throw new IllegalArgumentException("update tensors do not match the round's manifest");
                }
                double norm2 = WeightsMath.squaredDistance(w, global);
                double norm = Math.sqrt(norm2);
                double scale = norm > roundClip ? roundClip / norm : 1.0;
                if (scale < 1.0) {
                    clipped++;
                }
                for (int t = 0; t < sum.tensorCount(); t++) {
                    float[] s = sum.tensor(t);
                    float[] x = w.tensor(t);
                    float[] g = global.tensor(t);
                    for (int i = 0; i < s.length; i++) {
                        s[i] += (float) ((x[i] - (double) g[i]) * scale);
                    }
                }
                count++;
            }

            @Override
            public int count() {
                return count;
            }

            @Override
            public ModelWeights finish() {
                if (count == 0) {
                    throw new IllegalStateException("no updates to aggregate");
                }
                double rate = account(round);
                double std = dp.updateNoiseMultiplier() * roundClip / count;
                ModelWeights next = global.copy();
                for (int t = 0; t < next.tensorCount(); t++) {
                    float[] m = next.tensor(t);
                    float[] s = sum.tensor(t);
                    for (int i = 0; i < m.length; i++) {
                        double noise = std == 0 ? 0 : std * random.nextGaussian();
                        m[i] = (float) (m[i] + s[i] / (double) count + noise);
                    }
                }
                double nextClip = dp.adaptiveClipping() ? adaptClip(roundClip, count - clipped, count) : roundClip;
                PrivacySpent spent = record(round, rate, count, clipped, roundClip, nextClip);
                log.info("Round {} central DP: {} updates ({} clipped to norm {}), noise std {} on the average; {}", round,
                        count, clipped, roundClip, std, spent.describe());
                return inner instanceof FedOpt opt ? opt.step(global, next) : next;
            }
        };
    }

    /**
     * At start-up, before any round: what the earlier runs of this federation ledgered ({@code PRIVACY_SPENT}, in
     * rising rounds). Each ledgered round counts at its own rate and noise multiplier; a round before the newest
     * ledgered one without an entry counts at rate 1, as an unknown round; the budget check continues from the newest
     * round's rate, and adaptive clipping from its next clip norm (with fixed clipping the norm stays
     * {@link DpSettings#clip()}, whatever an earlier run used).
     *
     * @throws IllegalStateException when a round was already accounted
     * @throws IllegalArgumentException when the rounds do not rise
     */
    public synchronized void resume(List<PrivacySpent> ledgered) {
        if (accountedThrough != 0 || accountant.steps() != 0) {
            throw new IllegalStateException("the ledgered spending is resumed before any round, not after round "
                    + accountedThrough);
        }
        PrivacySpent newest = null;
        for (PrivacySpent s : ledgered) {
            if (s.round() <= accountedThrough) {
                throw new IllegalArgumentException("ledgered DP spending of round " + s.round() + " after round "
                        + accountedThrough + "'s");
            }
            accountant.compose(1.0, dp.noiseMultiplier(), s.round() - 1 - accountedThrough);
            accountant.compose(s.rate(), s.noiseMultiplier(), 1);
            accountedThrough = s.round();
            newest = s;
        }
        if (newest == null) {
            return;
        }
        lastRate = newest.rate();
        RdpAccountant alone = new RdpAccountant();
        alone.compose(newest.rate(), newest.noiseMultiplier(), 1);
        last = new PrivacySpent(newest.round(), newest.rate(), newest.updates(), newest.clipped(), newest.clip(),
                newest.nextClip(), newest.noiseMultiplier(), alone.epsilon(dp.delta()), accountant.epsilon(dp.delta()),
                dp.delta());
        if (dp.adaptiveClipping()) {
            clip = newest.nextClip();
        }
        log.info("Central DP resumed from the ledger: {} rounds through round {}, epsilon {} at delta {}{}", ledgered.size(),
                newest.round(), last.totalEpsilon(), dp.delta(), dp.adaptiveClipping() ? ", clip norm " + clip : "");
    }

    /**
     * Adaptive clipping's step (Andrew et al. 2021, Algorithm 1): the share of the {@code n} updates whose norm was
     * at most {@code roundClip} ({@code unclipped} of them), with Gaussian noise of std {@code countStddev} on the
     * count, moves the clip norm geometrically towards the target quantile.
     */
    private double adaptClip(double roundClip, int unclipped, int n) {
        DpSettings.AdaptiveClipping a = dp.adaptive();
        double noise = a.countStddev() == 0 ? 0 : a.countStddev() * random.nextGaussian();
        double share = (unclipped + noise) / n;
        double next = roundClip * Math.exp(-a.learningRate() * (share - a.quantile()));
        clip = next;
        return next;
    }

    /**
     * Composes the rounds before {@code round} not yet counted, then checks the budget for {@code round} at its own
     * rate; returns that rate. A round this wrapper sampled but never aggregated (skipped with too few updates, or
     * refused by the budget) released nothing and is not counted; any other is unknown (closed before a restart, or
     * never ledgered) and counts at rate 1.
     */
    private synchronized double account(long round) {
        if (accountedThrough < round - 1) {
            long unknown = 0;
            for (long r = accountedThrough + 1; r < round; r++) {
                if (rates.remove(r) == null) {
                    unknown++;
                }
            }
            accountant.compose(1.0, dp.noiseMultiplier(), unknown);
            accountedThrough = round - 1;
        }
        double rate = rates.getOrDefault(round, 1.0);
        if (dp.hasBudget()) {
            double after = accountant.epsilonAfter(rate, dp.noiseMultiplier(), 1, dp.delta());
            if (after > dp.epsilonBudget()) {
                lastRate = rate;
                throw new AggregationException(String.format(Locale.ROOT, "PRIVACY_BUDGET: round %d would bring epsilon to %.4f,"
                        + " over the budget %s (delta %g); nothing from it is released", round, after, dp.epsilonBudget(), dp.delta()));
            }
        }
        return rate;
    }

    private synchronized PrivacySpent record(long round, double rate, int updates, int clipped, double roundClip,
                                             double nextClip) {
        RdpAccountant alone = new RdpAccountant();
        alone.compose(rate, dp.noiseMultiplier(), 1);
        if (accountedThrough < round) {
            accountant.compose(rate, dp.noiseMultiplier(), 1);
            accountedThrough = round;
        }
        lastRate = rate;
        rates.remove(round);
        PrivacySpent s = new PrivacySpent(round, rate, updates, clipped, roundClip, nextClip, dp.noiseMultiplier(),
                alone.epsilon(dp.delta()), accountant.epsilon(dp.delta()), dp.delta());
        last = s;
        return s;
    }
}
