package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.privacy.DpSettings;
import io.pqfl.coordinator.privacy.RdpAccountant;
import io.pqfl.coordinator.secagg.SecAggRound;
import io.pqfl.coordinator.secagg.SecAggSettings;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.secagg.FixedPoint;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Secure aggregation around a sum-based strategy (docs/PRIVACY.md): the coordinator never sees an update, only the
 * sum of the round's masked inputs, which {@link SecAggRound} unmasks; the weighted mean difference it decodes
 * ({@link FixedPoint#decodeMean}) is applied to the global model as FedAvg and FedProx do, or taken as the pseudo-
 * gradient of a FedOpt server step. Strategies that need individual updates (median, trimmed mean, Krum) are refused.
 * Clients weight their updates by their example counts capped at the settings' weight cap, or by 1 when the inner
 * strategy is unweighted.
 */
public final class SecureAggregation extends WrappingStrategy {
    /**
     * The most parameters a model may have: its masked vector ({@code 8 * (P + 1)} bytes) travels in one gRPC message,
     * and the coordinator accepts messages of up to 8 MiB (64 KiB kept for the message's other fields).
     */
    public static final int MAX_PARAMETERS = ((8 << 20) - (64 << 10)) / 8 - 1;

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SecureAggregation.class);
    /** Distributed DP's per-coordinate range in noise standard deviations above the L2 clip: clamping never bites. */
    static final double NOISE_RANGE_STDS = 8;

    private final SecAggSettings settings;
    private final DpSettings dp;
    private final Map<Long, SecAggRound> rounds = new ConcurrentHashMap<>();
    private final Map<Long, Double> rates = new ConcurrentHashMap<>();
    private final Map<Long, Integer> sampledCounts = new ConcurrentHashMap<>();
    private final RdpAccountant accountant = new RdpAccountant();
    private long accountedThrough;
    private double lastRate = 1;
    private volatile double totalEpsilon;
    private volatile double roundEpsilon;
    private volatile io.pqfl.coordinator.privacy.PrivacySpent lastSpent;

    /** @throws IllegalArgumentException when {@code inner} needs individual updates */
    public SecureAggregation(Strategy inner, SecAggSettings settings) {
        this(inner, settings, null);
    }

    /**
     * With {@code dp} non-null, <b>distributed differential privacy</b>: every client clips its update's difference to
     * L2 norm {@code dp.clip()} and adds Gaussian noise of std {@code z C / sqrt(k)} per coordinate for the round's
     * {@code k} sampled clients, so the sum the coordinator unmasks carries noise of std {@code z C sqrt(n / k)} for the
     * {@code n} clients whose inputs arrived; the accountant counts each round with that effective multiplier.
     *
     * @throws IllegalArgumentException when {@code inner} needs individual updates
     */
    public SecureAggregation(Strategy inner, SecAggSettings settings, DpSettings dp) {
        super(inner);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.dp = dp;
        requireSumBased(inner);
    }

    /** The distributed-DP settings, or null. */
    public DpSettings dp() {
        return dp;
    }

    /** Epsilon spent so far at the configured delta (0 without DP or before the first round). */
    public double totalEpsilon() {
        return totalEpsilon;
    }

    /** The newest noised round's spending (what the ledger records), or null. */
    public io.pqfl.coordinator.privacy.PrivacySpent lastSpent() {
        return lastSpent;
    }

    /** Epsilon of the newest round alone. */
    public double roundEpsilon() {
        return roundEpsilon;
    }

    /** Whether one more round at the newest round's rate would cross the budget (false without one). */
    public synchronized boolean nextRoundWouldExceedBudget() {
        return dp != null && dp.hasBudget()
                && accountant.epsilonAfter(lastRate, dp.noiseMultiplier(), 1, dp.delta()) > dp.epsilonBudget();
    }

    /** The noise each client adds in a round with {@code sampled} clients ({@link SecAggRound.ClientNoise#NONE} without DP). */
    public SecAggRound.ClientNoise noiseFor(int sampled) {
        if (dp == null) {
            return SecAggRound.ClientNoise.NONE;
        }
        return new SecAggRound.ClientNoise(dp.clip(), dp.noiseMultiplier() * dp.clip() / Math.sqrt(Math.max(1, sampled)));
    }

    /** Refuses a model too large for one masked input. */
    public static void requireFits(long parameters) {
        if (parameters > MAX_PARAMETERS) {
            throw new IllegalArgumentException("secure aggregation sends a masked update in one message of 8 bytes per "
                    + "parameter; this model has " + parameters + " parameters, more than the " + MAX_PARAMETERS
                    + " that fit in the coordinator's 8 MiB message limit");
        }
    }

    /** Refuses a strategy secure aggregation cannot serve, naming the ones it can. */
    public static void requireSumBased(Strategy inner) {
        if (!(inner instanceof FedAvg || inner instanceof FedOpt)) {
            throw new IllegalArgumentException("secure aggregation (--secure-aggregation) works only with the sum-based "
                    + "strategies fedavg, fedprox, fedadam, fedyogi and fedadagrad, not " + inner.name()
                    + ": it needs every individual update, and the coordinator only learns their sum");
        }
    }

    public SecAggSettings settings() {
        return settings;
    }

    /** The weight cap clients use: 1 when the inner strategy weighs every update equally, or with DP. */
    public long weightCap() {
        if (dp != null) {
            return 1; // an example-weighted mean would let one client's claimed count scale its influence past C / n
        }
        Weighting w = inner instanceof FedAvg a ? a.weighting() : ((FedOpt) inner).weighting();
        return w == Weighting.EQUAL ? 1 : settings.weightCap();
    }

    /** The encoding of a round with {@code clients} sampled clients. */
    public FixedPoint encodingFor(int clients) {
        if (dp != null) {
            // Each coordinate of a clipped difference is at most C; its noise is within NOISE_RANGE_STDS stds.
            double range = dp.clip() + NOISE_RANGE_STDS * noiseFor(clients).std();
            return FixedPoint.forBound(Math.max(range, 1e-9), 1, clients);
        }
        return FixedPoint.forBound(settings.clip(), weightCap(), clients);
    }

    /** Registers the protocol state of an opening round ({@code open} builds it). */
    public SecAggRound open(long round, Function<Long, SecAggRound> open) {
        SecAggRound r = open.apply(round);
        SecAggRound older = rounds.put(round, r);
        if (older != null) {
            older.close("round " + round + " was opened again");
        }
        return r;
    }

    /** The protocol state of round {@code round}, while it is open. */
    public Optional<SecAggRound> round(long round) {
        return Optional.ofNullable(rounds.get(round));
    }

    /** The round closed (published or skipped): its protocol ends and its state is dropped. */
    public void closed(long round, String why) {
        SecAggRound r = rounds.remove(round);
        if (r != null) {
            r.close(why);
        }
    }

    @Override
    public List<ClientId> sample(long round, List<ClientId> eligible, int count, Random random) {
        List<ClientId> chosen = inner.sample(round, eligible, count, random);
        if (!eligible.isEmpty()) {
            rates.put(round, Math.min(1.0, (double) chosen.size() / eligible.size()));
            sampledCounts.put(round, chosen.size());
        }
        return chosen;
    }

    /**
     * Counts round {@code round}'s release: {@code contributors} of the round's sampled clients added noise. Rounds not
     * yet counted before it (closed before a restart) count with rate 1, which over-states epsilon, never under-states it.
     *
     * @throws AggregationException PRIVACY_BUDGET when the round would cross the budget (nothing is released)
     */
    private synchronized void account(long round, int contributors) {
        if (accountedThrough < round - 1) {
            accountant.compose(1.0, dp.noiseMultiplier(), round - 1 - accountedThrough);
            accountedThrough = round - 1;
        }
        double rate = rates.getOrDefault(round, 1.0);
        int sampled = sampledCounts.getOrDefault(round, contributors);
        double z = dp.noiseMultiplier() * Math.sqrt(Math.min(1.0, (double) contributors / Math.max(1, sampled)));
        lastRate = rate;
        if (dp.hasBudget() && accountant.epsilonAfter(rate, z, 1, dp.delta()) > dp.epsilonBudget()) {
            throw new AggregationException(String.format(java.util.Locale.ROOT, "PRIVACY_BUDGET: round %d would bring epsilon "
                    + "over the budget %s (delta %g); nothing from it is released", round, dp.epsilonBudget(), dp.delta()));
        }
        RdpAccountant alone = new RdpAccountant();
        alone.compose(rate, z, 1);
        accountant.compose(rate, z, 1);
        accountedThrough = round;
        rates.remove(round);
        sampledCounts.remove(round);
        roundEpsilon = alone.epsilon(dp.delta());
        totalEpsilon = accountant.epsilon(dp.delta());
        // The coordinator cannot see which inputs the clients clipped: the ledger's clipped count is 0 of the inputs.
        lastSpent = new io.pqfl.coordinator.privacy.PrivacySpent(round, rate, contributors, 0, dp.clip(), dp.clip(), z,
                roundEpsilon, totalEpsilon, dp.delta());
        log.info(String.format(java.util.Locale.ROOT, "Round %d distributed DP: %d of %d sampled clients added noise (effective "
                + "noise multiplier %.4f); dp_epsilon=%.6f dp_round_epsilon=%.6f dp_delta=%g dp_rate=%.6f", round, contributors,
                sampled, z, totalEpsilon, roundEpsilon, dp.delta(), rate));
    }

    /**
     * Checks that an unmasked sum can be the sum of {@code inputs} honest encodings: its total weight is between
     * {@code inputs} and {@code inputs * cap} (exactly {@code inputs} when every weight is 1), and every coordinate is
     * within {@code W * clip * 2^f}. A client can put anything in its masked vector (the coordinator cannot see it), so
     * this is the only place an out-of-range input shows: the round is then skipped, never published or accounted.
     * It bounds the damage of one malicious client to moving the mean by the clipping range per coordinate.
     */
    static void checkSum(long round, long[] sum, int inputs, FixedPoint encoding) {
        long w = sum[sum.length - 1];
        long most = (long) inputs * encoding.weightCap();
        if (inputs < 1 || w < inputs || w > most) {
            throw new AggregationException("SECURE_AGGREGATION: round " + round + "'s unmasked total weight is " + w + ", not "
                    + "between " + inputs + " and " + most + " for its " + inputs + " masked inputs: a client sent an "
                    + "out-of-range masked input; nothing is published");
        }
        double bound = w * encoding.clip() * Math.scalb(1.0, encoding.fractionBits()) + w; // + w: rounding of each input
        for (int i = 0; i < sum.length - 1; i++) {
            if (Math.abs((double) sum[i]) > bound) {
                throw new AggregationException("SECURE_AGGREGATION: coordinate " + i + " of round " + round + "'s unmasked sum "
                        + "is outside the clipping range of its " + inputs + " inputs: a client sent an out-of-range masked "
                        + "input; nothing is published");
            }
        }
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        return new RoundAggregator() {
            @Override
            public void accept(VerifiedUpdate update) {
                throw new IllegalStateException("round " + round + " runs secure aggregation: a plain update of "
                        + update.clientId() + " cannot be aggregated");
            }

            @Override
            public int count() {
                SecAggRound r = rounds.get(round);
                return r == null ? 0 : r.acceptedCount();
            }

            @Override
            public ModelWeights finish() {
                SecAggRound r = rounds.get(round);
                if (r == null) {
                    throw new AggregationException("SECURE_AGGREGATION: round " + round + " has no secure-aggregation state "
                            + "(it was opened before a restart)");
                }
                long[] sum;
                try {
                    sum = r.unmask();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AggregationException("SECURE_AGGREGATION: interrupted while unmasking round " + round);
                }
                float[][] g = new float[global.tensorCount()][];
                for (int t = 0; t < g.length; t++) {
                    g[t] = global.tensor(t);
                }
                int inputs = r.acceptedCount();
                checkSum(round, sum, inputs, r.encoding());
                if (dp != null) {
                    account(round, inputs); // the coordinator's own count of inputs in the sum, never a decoded word
                }
                float[][] mean;
                try {
                    mean = r.encoding().decodeMean(sum, g);
                } catch (IllegalArgumentException e) {
                    throw new AggregationException("SECURE_AGGREGATION: " + e.getMessage());
                }
                ModelWeights next = global.copy();
                for (int t = 0; t < next.tensorCount(); t++) {
                    float[] m = next.tensor(t);
                    for (int i = 0; i < m.length; i++) {
                        m[i] += mean[t][i];
                    }
                }
                if (next.firstNonFiniteTensor() >= 0) {
                    throw new AggregationException("SECURE_AGGREGATION: the unmasked aggregate of round " + round + " is not finite");
                }
                return inner instanceof FedOpt opt ? opt.step(global, next) : next;
            }
        };
    }
}
