package io.pqfl.coordinator;

import io.pqfl.coordinator.aggregate.TrainingSchedule;

import io.pqfl.coordinator.aggregate.CentralDp;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.evaluate.CentralEvaluator;
import io.pqfl.coordinator.privacy.DpSettings;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.FederationIds;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TrainingConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Everything a coordinator is configured with. Build with {@link #builder()}; every field but the initial model
 * has a default. The coordinator knows no model architectures: it starts from the initial model it is given, as
 * weights ({@link Builder#initialWeights}) or as a model file ({@link Builder#initialModel}), and from then on
 * knows a model only as its manifest and weights.
 */
public record CoordinatorConfig(String federationId, Path dataDir, Path trustDir, String jdbcUrl,
                                Set<SignatureScheme> acceptedSchemes, int rounds, int clientsPerRound,
                                double clientFraction, int minClients, Duration roundTimeout,
                                Duration clientLiveness, String strategy, Map<String, String> strategyParams,
                                ModelWeights initialWeights, Path initialModel, long seed, TrainingConfig training,
                                long maxUpdateBytes, int chunkBytes, SigningPolicy signingPolicy,
                                boolean closeOnRejection, int minUpdates, double helloPerSecond, int helloBurst,
                                Duration uploadTimeout, Path clientCaCert, Path clientCrl, int serverThreads,
                                long maxExamplesPerUpdate, Duration sessionTtl, Duration uploadIdleTimeout,
                                int maxConcurrentUploads, long uploadMemoryBytes, double callPerSecond, int callBurst,
                                Duration trustReloadInterval, int maxCallsPerConnection, int maxTaskStreams,
                                Duration requestTimeout, int evaluateEvery, boolean finalEvaluation,
                                double evaluateFraction, int minEvaluations, Duration evaluationTimeout,
                                CentralEvaluator centralEvaluator, TrainingSchedule trainingSchedule,
                                Path receiptTrustDir, boolean holdRounds, DpSettings dp,
                                io.pqfl.coordinator.secagg.SecAggSettings secureAggregation, List<ClientId> roster) {
    /** What rounds sample among, in words for the log: the live clients, or the eligible ones on the roster. */
    public String samplingPool() {
        return roster.isEmpty() ? "live clients" : "eligible clients on the roster";
    }

    /** The base training configuration as the schedule makes it for {@code round}: what the strategy starts from. */
    public TrainingConfig trainingFor(long round) {
        return trainingSchedule.forRound(round, rounds, training);
    }

    public CoordinatorConfig {
        FederationIds.require(federationId);
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(trustDir, "trustDir");
        acceptedSchemes = Set.copyOf(acceptedSchemes);
        roster = List.copyOf(roster);
        if (Set.copyOf(roster).size() != roster.size()) {
            throw new IllegalArgumentException("the roster names a client more than once");
        }
        strategyParams = Map.copyOf(strategyParams);
        Objects.requireNonNull(roundTimeout, "roundTimeout");
        Objects.requireNonNull(clientLiveness, "clientLiveness");
        if ((initialWeights == null) == (initialModel == null)) {
            throw new IllegalArgumentException(initialWeights == null
                    ? "no initial model: give its weights or a model file"
                    : "give the initial model as weights or as a file, not both");
        }
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(trainingSchedule, "trainingSchedule");
        trainingSchedule.validate(rounds, training);
        Objects.requireNonNull(signingPolicy, "signingPolicy");
        if (acceptedSchemes.isEmpty()) {
            throw new IllegalArgumentException("at least one signature scheme must be accepted");
        }
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be >= 1, got " + rounds);
        }
        if (minClients < 1) {
            throw new IllegalArgumentException("min clients must be >= 1, got " + minClients);
        }
        if (!roster.isEmpty() && roster.size() < minClients) {
            throw new IllegalArgumentException("the roster names " + roster.size() + " clients and a round needs "
                    + minClients + " (min clients): no round could open");
        }
        if (!(helloPerSecond > 0) || helloBurst < 1) {
            throw new IllegalArgumentException("hello rate limit must be positive (rate " + helloPerSecond + "/s, burst " + helloBurst + ")");
        }
        Objects.requireNonNull(uploadTimeout, "uploadTimeout");
        if (uploadTimeout.isNegative() || uploadTimeout.isZero()) {
            throw new IllegalArgumentException("upload timeout must be positive");
        }
        if (serverThreads < 0) {
            throw new IllegalArgumentException("server threads must be >= 0 (0: gRPC's default pool), got " + serverThreads);
        }
        if (clientCrl != null && clientCaCert == null) {
            throw new IllegalArgumentException("a client CRL needs the client CA certificate it belongs to");
        }
        if (minUpdates < 1 || minUpdates > minClients) {
            throw new IllegalArgumentException("min updates must be in 1.." + minClients + " (min clients), got " + minUpdates);
        }
        // A round opens once minClients are live and samples clientsPerRound of them (Flower's min_available_clients
        // and min_fit_clients): sampling fewer than are needed live is fine, sampling fewer than minUpdates is not.
        if (clientsPerRound < 0 || (clientsPerRound > 0 && clientsPerRound < minUpdates)) {
            throw new IllegalArgumentException("clients per round (" + clientsPerRound + ") must be 0 (use the fraction) or >= min updates ("
                    + minUpdates + "): a round could never aggregate");
        }
        if (!(clientFraction > 0 && clientFraction <= 1)) {
            throw new IllegalArgumentException("client fraction must be in (0, 1], got " + clientFraction);
        }
        if (roundTimeout.isNegative() || roundTimeout.isZero()) {
            throw new IllegalArgumentException("round timeout must be positive");
        }
        if (maxUpdateBytes < 1 || chunkBytes < 1024 || chunkBytes % 4 != 0) {
            throw new IllegalArgumentException("bad size limits: max update " + maxUpdateBytes + ", chunk " + chunkBytes);
        }
        if (maxExamplesPerUpdate < 1) {
            throw new IllegalArgumentException("max examples per update must be >= 1, got " + maxExamplesPerUpdate);
        }
        requirePositive(sessionTtl, "session TTL");
        requirePositive(uploadIdleTimeout, "upload idle timeout");
        requirePositive(trustReloadInterval, "trust reload interval");
        requirePositive(requestTimeout, "request timeout");
        if (maxConcurrentUploads < 1 || uploadMemoryBytes < 0) {
            throw new IllegalArgumentException("upload limits must be positive: " + maxConcurrentUploads + " uploads, "
                    + uploadMemoryBytes + " bytes");
        }
        if (!(callPerSecond > 0) || callBurst < 1) {
            throw new IllegalArgumentException("call rate limit must be positive (rate " + callPerSecond + "/s, burst " + callBurst + ")");
        }
        if (maxTaskStreams < 1) {
            throw new IllegalArgumentException("max task streams must be >= 1, got " + maxTaskStreams);
        }
        if (evaluateEvery < 0) {
            throw new IllegalArgumentException("evaluate every must be >= 0 (0: only after the last round), got " + evaluateEvery);
        }
        if (!(evaluateFraction > 0 && evaluateFraction <= 1)) {
            throw new IllegalArgumentException("evaluate fraction must be in (0, 1], got " + evaluateFraction);
        }
        if (minEvaluations < 1) {
            throw new IllegalArgumentException("min evaluations must be >= 1, got " + minEvaluations);
        }
        requirePositive(evaluationTimeout, "evaluation timeout");
        if (maxCallsPerConnection < 1) {
            throw new IllegalArgumentException("max calls per connection must be >= 1, got " + maxCallsPerConnection);
        }
        if (dp != null) {
            // Adaptive clipping's default count noise is the expected clients per round / 20: the fixed count, or the
            // smallest round the fraction samples (a round opens with at least minClients live).
            dp = dp.forExpectedClients(clientsPerRound > 0 ? clientsPerRound
                    : Math.max(minClients, (int) Math.ceil(clientFraction * minClients)));
            CentralDp.requireSumBased(Strategies.create(strategy, strategyParams));
            dp.checkPlan(rounds, largestSamplingRate(clientsPerRound, minClients));
        }
        if (secureAggregation != null) {
            io.pqfl.coordinator.aggregate.SecureAggregation.requireSumBased(Strategies.create(strategy, strategyParams));
            if (dp != null && dp.adaptive() != null) {
                throw new IllegalArgumentException("adaptive clipping (--dp-clip-quantile) needs the coordinator to see how many "
                        + "updates were clipped, which secure aggregation hides: use a fixed --dp-clip with --secure-aggregation");
            }
            if (signingPolicy != SigningPolicy.SIGNED) {
                throw new IllegalArgumentException("secure aggregation signs every message of its protocol; it cannot run "
                        + "with the signing policy " + signingPolicy);
            }
        }
    }

    /**
     * The largest sampling rate a round can have: a round opens only with at least {@code minClients} eligible
     * clients live, and samples {@link #sampleSize} of them. With a fixed count below the minimum that is
     * {@code clientsPerRound / minClients}; otherwise a round may sample every live client (rate 1). The privacy
     * budget is checked against it at start, since the number of eligible clients is not known then.
     */
    public static double largestSamplingRate(int clientsPerRound, int minClients) {
        return clientsPerRound > 0 ? Math.min(1.0, (double) clientsPerRound / minClients) : 1.0;
    }

    private static void requirePositive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive");
        }
    }

    /** What the run record says about the initial model: its architecture label, or the file it came from. */
    public String describeInitialModel() {
        return initialWeights != null ? initialWeights.manifest().architecture() : "file " + initialModel;
    }

    /** The layout of {@link #dataDir()}: database, checkpoints, spool. */
    public DataDirectory dataDirectory() {
        return DataDirectory.of(dataDir);
    }

    /** How many of {@code live} eligible clients a round samples: the configured count, or the fraction (at least the minimum). */
    public int sampleSize(int live) {
        return clientsPerRound > 0 ? Math.min(clientsPerRound, live)
                : Math.max(minClients, (int) Math.ceil(clientFraction * live));
    }

    /** When clients evaluate published models ({@code docs/COORDINATOR.md}, "Federated evaluation"). */
    public io.pqfl.coordinator.round.RoundMachine.EvaluationSettings evaluationSettings() {
        return new io.pqfl.coordinator.round.RoundMachine.EvaluationSettings(evaluateEvery, finalEvaluation, minEvaluations,
                evaluationTimeout);
    }

    /** How many of {@code live} eligible clients evaluate a model: the fraction, at least the minimum, at most all. */
    public int evaluatorCount(int live) {
        return Math.min(live, Math.max(minEvaluations, (int) Math.ceil(evaluateFraction * live)));
    }

    /**
     * The run's settings as the database records them. An "unsigned=true " prefix marks the research baseline: the
     * ledger verifier reads it (and refuses such a run unless asked on purpose).
     */
    public String describe(String strategyName) {
        String signing = switch (signingPolicy) {
            case SIGNED -> "";
            case UNSIGNED_BASELINE -> "unsigned=true ";
        };
        return signing + "strategy=" + strategyName + " params=" + strategyParams
                + " model=" + describeInitialModel() + " rounds=" + rounds + " minClients=" + minClients + " clientsPerRound="
                + clientsPerRound + " fraction=" + clientFraction + " schemes=" + acceptedSchemes;
    }

    public String effectiveJdbcUrl() {
        return jdbcUrl != null ? jdbcUrl : dataDirectory().jdbcUrl();
    }

    /** All post-quantum schemes: the default policy (classical baselines only when configured). */
    public static Set<SignatureScheme> postQuantumSchemes() {
        return Arrays.stream(SignatureScheme.values()).filter(SignatureScheme::isPostQuantum)
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(SignatureScheme.class)));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with defaults suitable for a small federation on one machine. */
    public static final class Builder {
        private String federationId = "pqfl";
        private Path dataDir = Path.of("pqfl-data");
        private Path trustDir;
        private String jdbcUrl;
        private Set<SignatureScheme> acceptedSchemes = postQuantumSchemes();
        private int rounds = 5;
        private int clientsPerRound = 0;
        private double clientFraction = 1.0;
        private int minClients = 2;
        private Duration roundTimeout = Duration.ofMinutes(10);
        private Duration clientLiveness = Duration.ofSeconds(60);
        private String strategy = "fedavg";
        private Map<String, String> strategyParams = Map.of();
        private ModelWeights initialWeights;
        private Path initialModel;
        private long seed = 1;
        private TrainingConfig training = TrainingConfig.defaults();
        private TrainingSchedule trainingSchedule = TrainingSchedule.CONSTANT;
        private Path receiptTrustDir;
        private boolean holdRounds;
        private long maxUpdateBytes = 512L << 20;
        // A task stream whose client does not read holds one serialised chunk: keep chunks small.
        private int chunkBytes = 256 << 10;
        private SigningPolicy signingPolicy = SigningPolicy.SIGNED;
        private boolean closeOnRejection = false;
        private int minUpdates = 0;
        private double helloPerSecond = 20;
        private int helloBurst = 40;
        private Duration uploadTimeout = Duration.ofMinutes(10);
        private Path clientCaCert;
        private Path clientCrl;
        private int serverThreads = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
        private long maxExamplesPerUpdate = 1_000_000;
        private Duration sessionTtl = Duration.ofMinutes(15);
        private Duration uploadIdleTimeout = Duration.ofSeconds(30);
        private int maxConcurrentUploads = 1024;
        private long uploadMemoryBytes = 0; // 0: derived from the heap and the model's size
        private double callPerSecond = 50;
        private int callBurst = 200;
        private Duration trustReloadInterval = Duration.ofSeconds(2);
        private int maxCallsPerConnection = 256;
        private int maxTaskStreams = 256;
        private Duration requestTimeout = Duration.ofSeconds(20);
        private int evaluateEvery = 0;
        private boolean finalEvaluation = true;
        private double evaluateFraction = 1.0;
        private int minEvaluations = 1;
        private Duration evaluationTimeout;
        private CentralEvaluator centralEvaluator;
        private DpSettings dp;
        private io.pqfl.coordinator.secagg.SecAggSettings secureAggregation;
        private List<ClientId> roster = List.of();

        public Builder federationId(String v) { this.federationId = v; return this; }
        public Builder dataDir(Path v) { this.dataDir = v; return this; }
        public Builder trustDir(Path v) { this.trustDir = v; return this; }
        public Builder jdbcUrl(String v) { this.jdbcUrl = v; return this; }
        public Builder acceptedSchemes(Set<SignatureScheme> v) { this.acceptedSchemes = v; return this; }
        public Builder rounds(int v) { this.rounds = v; return this; }
        public Builder clientsPerRound(int v) { this.clientsPerRound = v; return this; }
        public Builder clientFraction(double v) { this.clientFraction = v; return this; }
        public Builder minClients(int v) { this.minClients = v; return this; }
        /**
         * Sample every round's (and evaluation's) clients among these, live or not, rather than among the clients that
         * said Hello: a sampled client finds its task when it joins. For federations whose clients are all known and
         * come when needed (a simulation's virtual clients; silos started on demand). A round opens once
         * {@code minClients} of them are eligible (enrolled, not revoked; with a client CA, a certificate client not
         * yet seen counts as eligible, its certificate being checked when it says Hello). Empty (the default): sample among the live clients.
         */
        public Builder sampleFrom(java.util.Collection<ClientId> v) { this.roster = List.copyOf(v); return this; }
        public Builder roundTimeout(Duration v) { this.roundTimeout = v; return this; }
        public Builder clientLiveness(Duration v) { this.clientLiveness = v; return this; }
        public Builder strategy(String v) { this.strategy = v; return this; }
        public Builder strategyParams(Map<String, String> v) { this.strategyParams = v; return this; }
        /** The model round 1 trains from (required, unless {@link #initialModel} names a file). */
        public Builder initialWeights(ModelWeights v) { this.initialWeights = v; return this; }
        /**
         * A model file round 1 trains from, instead of {@link #initialWeights}: a pqfl model file ({@code ModelFiles})
         * or a safetensors file ({@code SafeTensors}), told apart by content. Its tensors are the federation's manifest.
         */
        public Builder initialModel(Path v) { this.initialModel = v; return this; }
        public Builder seed(long v) { this.seed = v; return this; }
        public Builder training(TrainingConfig v) { this.training = v; return this; }
        /** How the training configuration changes by round (default: the same every round). */
        public Builder trainingSchedule(TrainingSchedule v) { this.trainingSchedule = v; return this; }
        /**
         * A trust directory of the keys of the aggregators' clients (docs/AGGREGATOR.md): with it, every entry of an
         * aggregator's receipt must be an update its client signed; without it (null, the default), receipts are
         * checked for their sums and the aggregator's signature, and entries are left to {@code pqfl ledger verify}.
         */
        public Builder receiptTrustDir(Path v) { this.receiptTrustDir = v; return this; }
        /**
         * An aggregator's coordinator: a round opens only when released with the parent's model
         * ({@link io.pqfl.coordinator.round.FederationEngine#release}), never on its own.
         */
        public Builder holdRounds(boolean v) { this.holdRounds = v; return this; }
        public Builder maxUpdateBytes(long v) { this.maxUpdateBytes = v; return this; }
        public Builder chunkBytes(int v) { this.chunkBytes = v; return this; }
        /**
         * {@link SigningPolicy#SIGNED} (the default), or {@link SigningPolicy#UNSIGNED_BASELINE} only for the research
         * baseline ("none" in simulations): updates come without a signature or a key, and are accepted after every
         * other check. Never for a real federation.
         */
        public Builder signingPolicy(SigningPolicy v) { this.signingPolicy = v; return this; }
        /**
         * {@code true} lets a round close as soon as every sampled client was accepted <em>or rejected</em>
         * (simulations, where rejections are the point). The default waits for an accepted update or the
         * deadline, so that a forged rejection under a client's name cannot close a round early.
         */
        public Builder closeOnRejection(boolean v) { this.closeOnRejection = v; return this; }
        /** Accepted updates needed to aggregate a round (default: the min clients). */
        public Builder minUpdates(int v) { this.minUpdates = v; return this; }
        /** Hello calls allowed per remote address: a sustained rate and a burst (token bucket). */
        public Builder helloRateLimit(double perSecond, int burst) { this.helloPerSecond = perSecond; this.helloBurst = burst; return this; }
        /** The longest an update stream may stay open; a stalled or endless upload is cut off and refused. */
        public Builder uploadTimeout(Duration v) { this.uploadTimeout = v; return this; }
        /**
         * Accept clients by certificate: the federation CA's certificate and (optionally) its CRL file, which is
         * re-read when it changes.
         */
        public Builder clientCertificates(Path caCert, Path crl) { this.clientCaCert = caCert; this.clientCrl = crl; return this; }
        /** Threads serving calls (0: gRPC's default cached pool, one thread per busy call). */
        public Builder serverThreads(int v) { this.serverThreads = v; return this; }
        /** The largest example count one update may claim (its weight in FedAvg); above it the update is refused. */
        public Builder maxExamplesPerUpdate(long v) { this.maxExamplesPerUpdate = v; return this; }
        /** How long a session from a Hello stays valid; clients say Hello again when it runs out. */
        public Builder sessionTtl(Duration v) { this.sessionTtl = v; return this; }
        /** An upload that sends nothing for this long is cut off (INCOMPLETE) and its slot freed. */
        public Builder uploadIdleTimeout(Duration v) { this.uploadIdleTimeout = v; return this; }
        /**
         * Uploads in progress at once, and the bytes of decoded tensors they may hold together (0, the default:
         * what the heap leaves beside the global model, its cached chunks and the running aggregate); beyond either,
         * an upload is refused with BUSY and the client retries.
         */
        public Builder uploadLimits(int maxConcurrent, long memoryBytes) {
            this.maxConcurrentUploads = maxConcurrent;
            this.uploadMemoryBytes = memoryBytes;
            return this;
        }
        /** GetTask, SubmitUpdate and GetStatus calls allowed per remote address (token bucket). */
        public Builder callRateLimit(double perSecond, int burst) { this.callPerSecond = perSecond; this.callBurst = burst; return this; }
        /** How often the trust directory is checked for changes (added or revoked keys take effect then). */
        public Builder trustReloadInterval(Duration v) { this.trustReloadInterval = v; return this; }
        /** How long a unary or server-streaming call may wait for its request before it is closed. */
        public Builder requestTimeout(Duration v) { this.requestTimeout = v; return this; }
        /** Task streams sending at once; other clients' tasks wait their turn (each sending stream pins a chunk). */
        public Builder maxTaskStreams(int v) { this.maxTaskStreams = v; return this; }
        /**
         * Clients evaluate the published model after every {@code n}th round (0, the default: only after the last
         * round, unless {@link #finalEvaluation} is off).
         */
        public Builder evaluateEvery(int n) { this.evaluateEvery = n; return this; }
        /** Whether clients evaluate the model of the last round (default on). */
        public Builder finalEvaluation(boolean v) { this.finalEvaluation = v; return this; }
        /** The share of live eligible clients sampled to evaluate (default 1.0), at least {@link #minEvaluations}. */
        public Builder evaluateFraction(double v) { this.evaluateFraction = v; return this; }
        /** Live eligible clients needed before evaluators are sampled (default 1). */
        public Builder minEvaluations(int v) { this.minEvaluations = v; return this; }
        /** How long an evaluation stays open after its round closed (default: the round timeout). */
        public Builder evaluationTimeout(Duration v) { this.evaluationTimeout = v; return this; }
        /** Evaluates each published model on the coordinator's own test set (default: none). */
        public Builder centralEvaluator(CentralEvaluator v) { this.centralEvaluator = v; return this; }
        /** Concurrent calls one connection may have open. */
        public Builder maxCallsPerConnection(int v) { this.maxCallsPerConnection = v; return this; }
        /**
         * Central differential privacy ({@code docs/PRIVACY.md}): clip each update's difference from the global model
         * and noise the average (default: none, null). Only with fedavg, fedprox and the FedOpt family.
         */
        public Builder differentialPrivacy(DpSettings v) { this.dp = v; return this; }
        /**
         * Post-quantum secure aggregation ({@code docs/PRIVACY.md}): clients send masked inputs and the coordinator only
         * learns their sum (default: off, null). Only with fedavg, fedprox and the FedOpt family.
         */
        public Builder secureAggregation(io.pqfl.coordinator.secagg.SecAggSettings v) { this.secureAggregation = v; return this; }

        public CoordinatorConfig build() {
            Path trust = trustDir != null ? trustDir : DataDirectory.of(dataDir).trust();
            return new CoordinatorConfig(federationId, dataDir, trust, jdbcUrl, acceptedSchemes, rounds, clientsPerRound,
                    clientFraction, minClients, roundTimeout, clientLiveness, strategy, strategyParams, initialWeights, initialModel,
                    seed, training, maxUpdateBytes, chunkBytes, signingPolicy, closeOnRejection,
                    minUpdates > 0 ? minUpdates : minClients, helloPerSecond, helloBurst, uploadTimeout, clientCaCert, clientCrl,
                    serverThreads, maxExamplesPerUpdate, sessionTtl, uploadIdleTimeout, maxConcurrentUploads,
                    uploadMemoryBytes, callPerSecond, callBurst, trustReloadInterval, maxCallsPerConnection, maxTaskStreams,
                    requestTimeout, evaluateEvery, finalEvaluation, evaluateFraction, minEvaluations,
                    evaluationTimeout != null ? evaluationTimeout : roundTimeout, centralEvaluator, trainingSchedule,
                    receiptTrustDir, holdRounds, dp, secureAggregation, roster);
        }
    }
}
