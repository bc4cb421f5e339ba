package io.pqfl.coordinator.aggregate;

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
public final class SecureAggregation implements Strategy {
    /**
     * The most parameters a model may have: its masked vector ({@code 8 * (P + 1)} bytes) travels in one gRPC message,
     * and the coordinator accepts messages of up to 8 MiB (64 KiB kept for the message's other fields).
     */
    public static final int MAX_PARAMETERS = ((8 << 20) - (64 << 10)) / 8 - 1;

    private final Strategy inner;
    private final SecAggSettings settings;
    private final Map<Long, SecAggRound> rounds = new ConcurrentHashMap<>();

    /** @throws IllegalArgumentException when {@code inner} needs individual updates */
    public SecureAggregation(Strategy inner, SecAggSettings settings) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.settings = Objects.requireNonNull(settings, "settings");
        requireSumBased(inner);
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

    /** The weight cap clients use: 1 when the inner strategy weighs every update equally. */
    public long weightCap() {
        Weighting w = inner instanceof FedAvg a ? a.weighting() : ((FedOpt) inner).weighting();
        return w == Weighting.EQUAL ? 1 : settings.weightCap();
    }

    /** The encoding of a round with {@code clients} sampled clients. */
    public FixedPoint encodingFor(int clients) {
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
    public String name() {
        return inner.name();
    }

    @Override
    public TrainingConfig configureRound(long round, TrainingConfig base) {
        return inner.configureRound(round, base);
    }

    @Override
    public TrainingConfig configureClient(long round, ClientId client, TrainingConfig base) {
        return inner.configureClient(round, client, base);
    }

    @Override
    public List<ClientId> sample(long round, List<ClientId> eligible, int count, Random random) {
        return inner.sample(round, eligible, count, random);
    }

    @Override
    public void checkClients(int minClients) {
        inner.checkClients(minClients);
    }

    @Override
    public Optional<ModelWeights> state() {
        return inner.state();
    }

    @Override
    public void restore(ModelWeights state) {
        inner.restore(state);
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
                float[][] mean = r.encoding().decodeMean(sum, g);
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
