package io.pqfl.sim;

import ai.djl.Device;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ServerBuilder;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.data.Examples;
import io.pqfl.client.train.DjlModel;
import io.pqfl.client.train.DjlTrainer;
import io.pqfl.client.train.DjlTrainerFactory;
import io.pqfl.client.train.TaskKind;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.round.UpdateListener;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.Role;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.sim.attack.AttackPlan;
import io.pqfl.sim.attack.ManInTheMiddle;
import io.pqfl.sim.data.Partitioner;
import io.pqfl.sim.fleet.VirtualFleet;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Runs one arm of a simulation — one signature scheme (or none), one attack plan — as a real federation:
 * the production coordinator and client agents, over loopback gRPC (or the in-process transport), on real
 * Fashion-MNIST partitions, and measures it.
 */
public final class SimulationRunner {
    /**
     * A user's trainer for every virtual client, instead of the built-in model on Fashion-MNIST: each client's trainer
     * is {@code factory.create} with {@code options} plus {@code partition=i/N} (client {@code i} of {@code N}, 0-based:
     * every N-th example of the trainer's data), {@code client-index=i} and {@code clients=N}, seed {@code seed + i},
     * on the CPU. The coordinator starts from client 0's {@link Trainer#initialWeights}; the global model of each round
     * is evaluated by one more trainer made with {@code partition=all} and {@code client-index=-1}, on its held-out
     * examples ({@link Trainer#evaluate}).
     */
    public record TrainerSetup(TrainerFactory factory, Map<String, String> options) {
        public TrainerSetup {
            Objects.requireNonNull(factory, "factory");
            options = Map.copyOf(options);
        }

        Trainer create(int index, int clients, String partition, long seed) throws TrainerException {
            Map<String, String> o = new java.util.HashMap<>(options);
            o.put("partition", partition);
            o.put("client-index", Integer.toString(index));
            o.put("clients", Integer.toString(clients));
            return factory.create(new TrainerOptions(o, seed, "cpu"));
        }
    }

    /**
     * How a simulation scales: {@code clientsPerRound} sampled each round (0: every client), {@code workers} training
     * at once (one: in this JVM; more: worker processes) on {@code device} ({@code cpu}, {@code gpu}, {@code auto}), how the clients differ ({@code behaviour}: dropout, speed),
     * and what a client's failure does to the run ({@code onFailure}). Used by the virtual-client fleet (arms without
     * attacks, on the DJL trainer); an attack arm runs every client as a full agent on its own connection, so that
     * the man-in-the-middle sits on that client's link.
     */
    public record Scale(int clientsPerRound, int workers, VirtualFleet.Behaviour behaviour,
                        VirtualFleet.FailurePolicy onFailure, String device) {
        /** Every client every round, one worker in this JVM, uniform clients, the first failure ends the run. */
        public static final Scale DEFAULT = new Scale(0, 1, VirtualFleet.Behaviour.UNIFORM, VirtualFleet.FailurePolicy.FAIL);

        /** On the CPU. */
        public Scale(int clientsPerRound, int workers, VirtualFleet.Behaviour behaviour,
                     VirtualFleet.FailurePolicy onFailure) {
            this(clientsPerRound, workers, behaviour, onFailure, "cpu");
        }

        public Scale {
            Objects.requireNonNull(behaviour, "behaviour");
            Objects.requireNonNull(onFailure, "onFailure");
            Objects.requireNonNull(device, "device");
            if (clientsPerRound < 0 || workers < 1) {
                throw new IllegalArgumentException("need clients per round >= 0 and workers >= 1, got " + clientsPerRound
                        + " and " + workers);
            }
        }
    }

    /**
     * What to run. {@code trainer} is null for the built-in {@code model} trained by DJL on Fashion-MNIST partitions,
     * or a user's {@link TrainerSetup}. {@code signing} is the arm's one signing policy, the coordinator's and every client's;
     * {@code scheme} is the scheme of every key in the arm: the clients' (what they sign updates with when signing,
     * and prove their identity with at Hello either way) and the coordinator's (models are signed in every arm).
     */
    public record Spec(String arm, SigningPolicy signing, SignatureScheme scheme, int clients, int rounds, ModelCatalog model,
                       String strategy, Map<String, String> strategyParams, TrainingConfig training,
                       Partitioner.Kind partition, double alpha, int examplesPerClient, long seed, Transport transport,
                       AttackPlan attacks, Duration roundTimeout, TrainerSetup trainer,
                       io.pqfl.coordinator.aggregate.TrainingSchedule schedule, Scale scale,
                       io.pqfl.coordinator.privacy.DpSettings dp, io.pqfl.coordinator.secagg.SecAggSettings secureAggregation,
                       LocalPrivacy localDp) {
        public Spec {
            Objects.requireNonNull(signing, "signing");
            Objects.requireNonNull(scheme, "scheme");
            Objects.requireNonNull(schedule, "schedule");
            Objects.requireNonNull(scale, "scale");
            if (scale.clientsPerRound() > clients) {
                throw new IllegalArgumentException("clients per round (" + scale.clientsPerRound() + ") exceeds the "
                        + clients + " clients");
            }
        }

        /** An arm without differential privacy. */
        public Spec(String arm, SigningPolicy signing, SignatureScheme scheme, int clients, int rounds, ModelCatalog model,
                    String strategy, Map<String, String> strategyParams, TrainingConfig training,
                    Partitioner.Kind partition, double alpha, int examplesPerClient, long seed, Transport transport,
                    AttackPlan attacks, Duration roundTimeout, TrainerSetup trainer,
                    io.pqfl.coordinator.aggregate.TrainingSchedule schedule, Scale scale) {
            this(arm, signing, scheme, clients, rounds, model, strategy, strategyParams, training, partition, alpha,
                    examplesPerClient, seed, transport, attacks, roundTimeout, trainer, schedule, scale, null, null, null);
        }

        /** An arm without secure aggregation. */
        public Spec(String arm, SigningPolicy signing, SignatureScheme scheme, int clients, int rounds, ModelCatalog model,
                    String strategy, Map<String, String> strategyParams, TrainingConfig training,
                    Partitioner.Kind partition, double alpha, int examplesPerClient, long seed, Transport transport,
                    AttackPlan attacks, Duration roundTimeout, TrainerSetup trainer,
                    io.pqfl.coordinator.aggregate.TrainingSchedule schedule, Scale scale,
                    io.pqfl.coordinator.privacy.DpSettings dp) {
            this(arm, signing, scheme, clients, rounds, model, strategy, strategyParams, training, partition, alpha,
                    examplesPerClient, seed, transport, attacks, roundTimeout, trainer, schedule, scale, dp, null, null);
        }

        /** An arm at the default {@link Scale}. */
        public Spec(String arm, SigningPolicy signing, SignatureScheme scheme, int clients, int rounds, ModelCatalog model,
                    String strategy, Map<String, String> strategyParams, TrainingConfig training,
                    Partitioner.Kind partition, double alpha, int examplesPerClient, long seed, Transport transport,
                    AttackPlan attacks, Duration roundTimeout, TrainerSetup trainer,
                    io.pqfl.coordinator.aggregate.TrainingSchedule schedule) {
            this(arm, signing, scheme, clients, rounds, model, strategy, strategyParams, training, partition, alpha,
                    examplesPerClient, seed, transport, attacks, roundTimeout, trainer, schedule, Scale.DEFAULT);
        }

        /** Clients sampled per round. */
        public int perRound() {
            return scale.clientsPerRound() == 0 ? clients : scale.clientsPerRound();
        }

        /**
         * Whether the arm runs as a virtual-client fleet: no attacks (a man-in-the-middle needs each client's own link)
         * and the DJL trainer (which the workers run).
         */
        public boolean fleet() {
            return !attacks.any() && !userTrainer();
        }

        /** Whether the arm trains with a user's trainer that is not the DJL one (it brings its own data split). */
        public boolean userTrainer() {
            return trainer != null && !(trainer.factory() instanceof DjlTrainerFactory);
        }

        /** An arm whose training configuration is the same every round. */
        public Spec(String arm, SigningPolicy signing, SignatureScheme scheme, int clients, int rounds, ModelCatalog model,
                    String strategy, Map<String, String> strategyParams, TrainingConfig training,
                    Partitioner.Kind partition, double alpha, int examplesPerClient, long seed, Transport transport,
                    AttackPlan attacks, Duration roundTimeout, TrainerSetup trainer) {
            this(arm, signing, scheme, clients, rounds, model, strategy, strategyParams, training, partition, alpha,
                    examplesPerClient, seed, transport, attacks, roundTimeout, trainer,
                    io.pqfl.coordinator.aggregate.TrainingSchedule.CONSTANT, Scale.DEFAULT);
        }

        /** The update signature scheme the arm compares: its scheme when signed, "none" for the unsigned baseline. */
        public String schemeLabel() {
            return schemeLabel(signing, scheme);
        }

        /** An arm's label in reports and arm names, and its value for {@code --schemes}. */
        public static String schemeLabel(SigningPolicy signing, SignatureScheme scheme) {
            return switch (signing) {
                case SIGNED -> scheme.displayName();
                case UNSIGNED_BASELINE -> "none";
            };
        }

        public boolean inProcess() {
            return transport == Transport.IN_PROCESS;
        }
    }

    /** How the simulated clients reach the coordinator. */
    public enum Transport {
        /**
         * Loopback sockets with TLS 1.3 and the hybrid X25519MLKEM768 key exchange; an ephemeral federation CA
         * certifies the coordinator and every client, and clients are admitted by their certificates.
         */
        TLS,
        /** Loopback sockets without TLS; clients are enrolled in the trust directory. */
        PLAINTEXT,
        /** gRPC's in-process transport (no sockets): for logic-only runs. */
        IN_PROCESS;

        public static Transport parse(String value) {
            return switch (value) {
                case "tls" -> TLS;
                case "grpc", "plaintext" -> PLAINTEXT;
                case "inprocess" -> IN_PROCESS;
                default -> throw new IllegalArgumentException("unknown transport '" + value + "': use tls, grpc or inprocess");
            };
        }
    }

    /** Local differential privacy of every client of an arm ({@link io.pqfl.client.agent.LocalDp}). */
    public record LocalPrivacy(double noiseMultiplier, double clip, double delta) {
        io.pqfl.client.agent.LocalDp newTransform() {
            return new io.pqfl.client.agent.LocalDp(noiseMultiplier, clip, delta);
        }
    }

    /** One client's part in one round. */
    public record ClientRound(String arm, long round, String client, String attack, long trainMillis, double digestMillis,
                              double signMillis, double verifyMillis, long updateBytes, int signatureBytes, long uploadMillis,
                              boolean accepted, String reason) {
    }

    /**
     * Where an arm reports how it goes: lines of text ({@link #accept}) and, as each round closes, the round's numbers
     * ({@link #round}, by default its line). A console can draw a progress bar from the numbers.
     */
    @FunctionalInterface
    public interface Progress extends Consumer<String> {
        default void round(RoundProgress r) {
            accept(r.line());
        }
    }

    /**
     * A round that closed, as the arm's progress reports it: {@code reportedAccuracy} is the mean of the accuracies the
     * round's clients reported with their updates (unsigned hints; null when none did), not the test-set accuracy of
     * the summary.
     */
    public record RoundProgress(String arm, long round, long rounds, boolean completed, int accepted, int rejected,
                                Double reportedAccuracy, PrivacySpent dp) {
        public String line() {
            return Round.describe(arm, round, completed, accepted, rejected, dp);
        }
    }

    /**
     * One round of one arm. With central differential privacy, {@code epsilon} is what all rounds so far spent at the
     * arm's delta, {@code roundEpsilon} this round alone, {@code clipNorm} the L2 norm its updates were clipped to
     * (it moves with adaptive clipping); all three are null without DP, and for a round that noised nothing (skipped
     * before aggregating), and are then left out of results.json.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Round(String arm, long round, boolean completed, long wallMillis, int accepted, int rejected,
                        double accuracy, double loss, Double epsilon, Double roundEpsilon, Double clipNorm) {
        /** A round without differential privacy. */
        public Round(String arm, long round, boolean completed, long wallMillis, int accepted, int rejected,
                     double accuracy, double loss) {
            this(arm, round, completed, wallMillis, accepted, rejected, accuracy, loss, null, null, null);
        }

        /** The round's line in the console: its outcome, and with DP what it spent. */
        public static String describe(String arm, long round, boolean completed, int accepted, int rejected,
                                      PrivacySpent dp) {
            return arm + ": round " + round + (completed ? " done" : " skipped") + " (" + accepted + " accepted, " + rejected
                    + " rejected)" + (dp == null ? "" : String.format(Locale.ROOT, "; DP epsilon %.4f (this round %.4f)"
                    + " at delta %s, %d/%d clipped to %.4g", dp.totalEpsilon(), dp.roundEpsilon(), dp.delta(), dp.clipped(),
                    dp.updates(), dp.clip()));
        }
    }

    /** {@code channel}: how the clients' connections were protected, e.g. "TLS 1.3, X25519MLKEM768 (8 connections)". */
    /**
     * An arm's outcome. {@code federated} is the coordinator's aggregate of the clients' signed evaluations of the last
     * round's model on their held-out data (null when none was closed); the accuracies are the global model's on the
     * simulation's test set.
     */
    public record Result(Spec spec, List<Round> rounds, List<ClientRound> clients, Map<String, Integer> rejections,
                         double initialAccuracy, double finalAccuracy, long wallMillis, String channel,
                         io.pqfl.coordinator.evaluate.EvaluationSummary federated, String architecture, FleetStats fleet,
                         double epsilon, double clipNorm, double secAggCoordinatorMillis, double localEpsilon) {
        /** Whether the arm ran with secure aggregation ({@link #secAggCoordinatorMillis} is then the coordinator's protocol time). */
        public boolean secureArm() {
            return spec.secureAggregation() != null && spec.signing() == SigningPolicy.SIGNED;
        }

        /**
         * Whether the arm ran with central differential privacy ({@link #epsilon} is then what it spent, and
         * {@link #clipNorm} the norm its rounds ended with: the next round's, were there one).
         */
        public boolean privateArm() {
            return spec.dp() != null;
        }
    }

    /**
     * What the virtual-client fleet measured (null for an arm run as full agents): the workers, their summed compute
     * (fits and evaluations, each the job's time in its worker) and the CPU time of that (the rest is time a job
     * waited for a core), the fleet's wall time from its setup to the federation's end, the ratio of that wall time
     * to compute / workers (1.0 would be perfect parallel use of the workers), the CPU time this JVM used meanwhile
     * (every thread: the coordinator, the clients' protocol work, TLS, the JIT compiler, the collector, and training
     * when the worker runs in this JVM) and its split by kind of thread ({@link io.pqfl.sim.fleet.ThreadCpu}; empty
     * where unknown), peak resident memory of this JVM and of the worker processes, dropouts,
     * late updates, the failures with their reasons, and the tasks streamed, of which {@code tasksHeld} without the
     * model's bytes because the fleet's model cache held it.
     */
    public record FleetStats(int workers, long computeMillis, long cpuMillis, long jobs, long fleetWallMillis,
                             double overhead, long processCpuMillis, long peakRssBytes, long peakWorkerRssBytes,
                             long dropouts, long late, List<VirtualFleet.Failure> failures, int joined,
                             String cpuByThread, long tasks, long tasksHeld) {
        public FleetStats {
            failures = List.copyOf(failures);
        }
    }

    private SimulationRunner() {
    }

    /** The DJL trainer's options of an arm that names them (model, task, ...), with the arm's seed. */
    private static TrainerOptions djlOptions(Spec spec) {
        return new TrainerOptions(spec.trainer().options(), spec.seed(), "cpu");
    }

    /**
     * A fresh DJL model for one trainer of the arm: the built-in {@code model}, or what the arm's DJL trainer options
     * name (a block factory, TorchScript, or a dense model sized from {@code data}).
     */
    private static DjlModel djlModel(Spec spec, Examples data) throws TrainerException {
        return spec.trainer() == null ? DjlModel.builtIn(spec.model()) : DjlTrainerFactory.model(djlOptions(spec), data);
    }

    /**
     * Runs one arm. {@code train} and {@code test} are the Fashion-MNIST examples for the built-in model; a
     * {@link TrainerSetup}'s trainers read their own data, and both may be null.
     */
    public static Result run(Spec spec, Examples train, Examples test, Path workDir, Progress progress)
            throws Exception {
        List<Trainer> trainers = new ArrayList<>();
        try {
            return run(spec, train, test, workDir, progress, trainers);
        } finally {
            trainers.forEach(Trainer::close);
        }
    }

    private static Result run(Spec spec, Examples train, Examples test, Path workDir, Progress progress,
                              List<Trainer> trainers) throws Exception {
        long start = System.nanoTime();
        boolean userTrainer = spec.userTrainer();
        List<int[]> parts = userTrainer ? null : Partitioner.split(train, spec.clients(),
                spec.partition(), spec.alpha(), spec.examplesPerClient(), spec.seed());
        String untrainable = parts == null ? null : untrainable(parts, train.size(), spec);
        if (untrainable != null) {
            throw new IllegalArgumentException(untrainable);
        }
        TaskKind task = spec.trainer() == null ? TaskKind.CLASSIFICATION
                : DjlTrainerFactory.task(djlOptions(spec));
        boolean fleet = spec.fleet();
        // A fleet's clients are materialised only while they train, in the workers; full agents each hold a trainer.
        for (int i = 0; i < (fleet ? 0 : spec.clients()); i++) {
            if (userTrainer) {
                trainers.add(spec.trainer().create(i, spec.clients(), i + "/" + spec.clients(), spec.seed() + i));
            } else {
                Examples mine = train.select(parts.get(i));
                int evalCount = Math.max(1, mine.size() / 10);
                trainers.add(new DjlTrainer(djlModel(spec, mine), task, mine.range(0, mine.size() - evalCount),
                        mine.range(mine.size() - evalCount, mine.size()), Device.cpu()));
            }
        }
        Trainer evaluator = userTrainer ? spec.trainer().create(-1, spec.clients(), "all", spec.seed())
                : DjlTrainer.evaluator(djlModel(spec, test), task, test, Device.cpu());
        trainers.add(evaluator);
        ModelWeights initialWeights;
        if (spec.trainer() == null) {
            initialWeights = spec.model().initialWeights(spec.seed());
        } else if (fleet) {
            Examples[] first = clientData(train, parts, 0);
            try (DjlTrainer probe = new DjlTrainer(djlModel(spec, first[0]), task, first[0], first[1], Device.cpu())) {
                initialWeights = probe.initialWeights(spec.seed());
            }
        } else {
            initialWeights = trainers.get(0).initialWeights(spec.seed());
        }
        Path dir = workDir.resolve("arm-" + spec.arm());
        SignatureScheme clientScheme = spec.scheme();
        SigningKey coordinatorKey = Keys.generate(spec.scheme());
        // The arm's coordinator public key, to pin when checking what it signed offline (pqfl model verify, ledger verify).
        // A new federation per run, also when --out is reused: a new key, CA and data directory.
        for (String old : List.of("pki", "data", "workers")) {
            deleteTree(dir.resolve(old));
        }
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve("coordinator.pub"));
        io.pqfl.crypto.KeyPem.writeVerifyingKey(coordinatorKey.verifyingKey(), dir.resolve("coordinator.pub"));
        boolean tls = spec.transport() == Transport.TLS;
        List<ClientId> fleetIds = IntStream.range(0, fleet ? spec.clients() : 0).mapToObj(i -> new ClientId(clientName(i)))
                .toList();
        CertificateAuthority ca = tls ? CertificateAuthority.init(dir.resolve("pki"),
                "pqfl simulation CA", SignatureScheme.ML_DSA_65, Duration.ofDays(1), null, Clock.systemUTC()) : null;
        CoordinatorConfig config = CoordinatorConfig.builder().federationId("sim-" + spec.arm()).dataDir(dir.resolve("data"))
                .clientCertificates(tls ? ca.directory().resolve(CertificateAuthority.CERT_FILE) : null,
                        tls ? ca.directory().resolve(CertificateAuthority.CRL_FILE) : null)
                .initialWeights(initialWeights).rounds(spec.rounds()).minClients(spec.clients()).minUpdates(Math.max(1, spec.perRound() / 2))
                .clientsPerRound(spec.perRound()).roundTimeout(spec.roundTimeout()).strategy(spec.strategy())
                // As many evaluate the last model as train in a round; a dropped-out client (back after the round's
                // deadline) stays live meanwhile, so that every round can open with every client.
                .evaluateFraction(Math.min(1.0, (double) spec.perRound() / spec.clients()))
                .clientLiveness(Duration.ofSeconds(60).plus(spec.roundTimeout()))
                // A fleet's clients each hold a waiting task request on a few shared connections.
                .maxCallsPerConnection(Math.max(256, spec.clients() + 64))
                .strategyParams(spec.strategyParams()).seed(spec.seed()).training(spec.training()).trainingSchedule(spec.schedule())
                .acceptedSchemes(Set.of(clientScheme)).signingPolicy(spec.signing()).closeOnRejection(true)
                // Every simulated client calls from 127.0.0.1: a per-address limit meant for strangers would throttle
                // the whole simulated federation as if it were one caller.
                .helloRateLimit(100_000, 100_000).callRateLimit(100_000, 100_000).differentialPrivacy(spec.dp())
                .secureAggregation(spec.signing() == SigningPolicy.SIGNED ? spec.secureAggregation() : null)
                // A fleet's virtual clients join when first sampled: the coordinator samples among all of them.
                .sampleFrom(fleet ? fleetIds : List.of())
                .build();
        TrustStore trust = TrustStore.open(config.trustDir());
        // Every client's key (and certificate) made on all cores: ten thousand ML-DSA key pairs and CA signatures.
        if (spec.clients() >= 1000) { // seconds of work: say so rather than go quiet
            progress.accept(spec.arm() + ": making " + spec.clients() + " clients' " + clientScheme + " key pairs"
                    + (tls ? " and certificates" : "") + " on " + Runtime.getRuntime().availableProcessors() + " cores");
        }
        List<SigningKey> keys = IntStream.range(0, spec.clients()).parallel().mapToObj(i -> Keys.generate(clientScheme))
                .toList();
        List<byte[]> certificates = !tls ? Collections.nCopies(spec.clients(), null)
                : IntStream.range(0, spec.clients()).parallel().mapToObj(i -> {
                    try {
                        return ca.issue(Role.CLIENT, clientName(i), keys.get(i).verifyingKey(), List.of(), List.of(),
                                Duration.ofDays(1)).getEncoded();
                    } catch (java.io.IOException | java.security.GeneralSecurityException | io.pqfl.crypto.pki.PkiException e) {
                        throw new IllegalStateException("cannot issue " + clientName(i) + "'s certificate: " + e.getMessage(), e);
                    }
                }).toList();
        if (!tls) {
            Map<ClientId, io.pqfl.crypto.VerifyingKey> enrolled = new java.util.LinkedHashMap<>();
            for (int i = 0; i < spec.clients(); i++) {
                enrolled.put(new ClientId(clientName(i)), keys.get(i).verifyingKey());
            }
            trust.addAll(enrolled);
        }
        CoordinatorMetrics metrics = new CoordinatorMetrics();
        Coordinator coordinator = Coordinator.open(config, coordinatorKey, trust, metrics, Clock.systemUTC(),
                new SecureRandom());
        FederationEngine engine = coordinator.rounds();
        Map<String, Double> verifyMillis = new ConcurrentHashMap<>();
        Map<Long, long[]> roundWall = new ConcurrentHashMap<>();
        Map<String, Integer> rejections = Collections.synchronizedMap(new TreeMap<>());
        Map<Long, PrivacySpent> privacy = new ConcurrentHashMap<>();
        engine.addListener(new UpdateListener() {
            @Override
            public void accepted(ClientId client, long round, long verifyNanos, long bytes) {
                verifyMillis.put(round + "/" + client, verifyNanos / 1e6);
            }

            @Override
            public void rejected(String client, long round, RejectReason reason) {
                rejections.merge(reason.name(), 1, Integer::sum);
            }

            @Override
            public void roundClosed(long round, boolean completed, Duration wall, int accepted, int rejected) {
                roundWall.put(round, new long[] {wall.toMillis(), completed ? 1 : 0, accepted, rejected});
                // The round's spending, if its aggregate was noised: the listener hears of a round after it closed.
                PrivacySpent dp = engine.lastPrivacySpent().filter(x -> x.round() == round).orElse(null);
                if (dp != null) {
                    privacy.put(round, dp);
                }
                Double reported = engine.lastEvaluation(io.pqfl.coordinator.evaluate.EvaluationSummary.Source.CLIENT_REPORTS)
                        .filter(e -> e.round() == round && !e.empty())
                        .map(e -> e.metrics().getOrDefault("eval_accuracy", e.metrics().get("accuracy"))).orElse(null);
                progress.round(new RoundProgress(spec.arm(), round, spec.rounds(), completed, accepted, rejected, reported, dp));
            }
        });
        String inProcessName = "pqfl-sim-" + spec.arm() + "-" + System.nanoTime();
        ServerBuilder<?> serverBuilder = spec.inProcess() ? InProcessServerBuilder.forName(inProcessName)
                : NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
        SslContext clientTls = null;
        if (tls) {
            // TLS signs with ML-DSA whatever the arm's update scheme: the transport is not what an arm compares.
            SigningKey tlsKey = Keys.generate(SignatureScheme.ML_DSA_65);
            var serverCert = ca.issue(Role.COORDINATOR, "coordinator", tlsKey.verifyingKey(),
                    List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
            ((NettyServerBuilder) serverBuilder).sslContext(PqTls.server(List.of(serverCert), tlsKey.toJca(),
                    KeyExchange.HYBRID, null, ClientAuth.NONE));
            clientTls = PqTls.client(List.of(ca.certificate()), null, null, KeyExchange.HYBRID);
        }
        List<ClientRound> clientRows = Collections.synchronizedList(new ArrayList<>());
        List<io.pqfl.client.agent.LocalDp> localDps = Collections.synchronizedList(new ArrayList<>());
        io.pqfl.coordinator.evaluate.EvaluationSummary federated = null;
        FleetStats fleetStats = null;
        // Round 1 may open as the coordinator starts, sampling clients the fleet has yet to make: it hears of them here.
        Map<ClientId, Integer> fleetIndex = new java.util.HashMap<>();
        for (int i = 0; i < fleetIds.size(); i++) {
            fleetIndex.put(fleetIds.get(i), i);
        }
        VirtualFleet.Demand demand = new VirtualFleet.Demand(c -> fleetIndex.getOrDefault(c, -1));
        if (fleet) {
            engine.addListener(demand);
        }
        try (CoordinatorServer server = new CoordinatorServer(serverBuilder, coordinator).start()) {
            if (fleet) {
                fleetStats = runFleet(demand, spec, train, parts, task, initialWeights, keys, certificates, coordinatorKey, engine,
                        config, server, inProcessName, clientTls, verifyMillis, clientRows, localDps, dir, progress, metrics);
            } else {
                runAgents(spec, trainers, keys, certificates, coordinatorKey, server, inProcessName, clientTls,
                        verifyMillis, clientRows, localDps);
            }
            engine.awaitFinished(Duration.ofMinutes(5));
            federated = engine.lastEvaluation(io.pqfl.coordinator.evaluate.EvaluationSummary.Source.FEDERATED)
                    .orElse(null);
            if (federated != null) {
                progress.accept("federated evaluation of round " + federated.round() + "'s model (clients' held-out data): "
                        + federated.describe());
            }
        }
        List<Round> rounds = new ArrayList<>();
        double initial;
        double last;
        TrainContext context = TrainContext.of(0, spec.training(), spec.seed());
        ModelWeights current = ModelFiles.read(config.dataDirectory().checkpoint(0)).weights();
        EvaluateResult ev = evaluator.evaluate(current, context);
        initial = ev.metric(Metrics.ACCURACY, Double.NaN);
        for (long r = 1; r <= spec.rounds(); r++) {
            long[] w = roundWall.getOrDefault(r, new long[] {0, 0, 0, 0});
            Path checkpoint = config.dataDirectory().checkpoint(r);
            if (w[1] == 1 && Files.exists(checkpoint)) {
                ev = evaluator.evaluate(ModelFiles.read(checkpoint).weights(), context);
            }
            PrivacySpent dp = privacy.get(r);
            rounds.add(new Round(spec.arm(), r, w[1] == 1, w[0], (int) w[2], (int) w[3], ev.metric(Metrics.ACCURACY,
                    Double.NaN), ev.loss(), dp == null ? null : dp.totalEpsilon(), dp == null ? null : dp.roundEpsilon(),
                    dp == null ? null : dp.clip()));
        }
        last = ev.metric(Metrics.ACCURACY, Double.NaN);
        List<ClientRound> sorted = new ArrayList<>(clientRows);
        sorted.sort((a, b) -> a.round() != b.round() ? Long.compare(a.round(), b.round()) : a.client().compareTo(b.client()));
        return new Result(spec, rounds, sorted, Map.copyOf(rejections), initial, last, (System.nanoTime() - start) / 1_000_000,
                channel(spec, metrics), federated, initialWeights.manifest().architecture(), fleetStats,
                spec.dp() == null ? Double.NaN : metrics.gaugeValue("pqfl.dp.epsilon"),
                spec.dp() == null ? Double.NaN : metrics.gaugeValue("pqfl.dp.clip"),
                metrics.timerTotalMillis("pqfl.secagg.coordinator"),
                localDps.stream().mapToDouble(io.pqfl.client.agent.LocalDp::epsilon).max().orElse(Double.NaN));
    }

    /** Every client a full {@link ClientAgent} on its own connection and thread, training with its own trainer. */
    private static void runAgents(Spec spec, List<Trainer> trainers, List<SigningKey> keys, List<byte[]> certificates,
                                  SigningKey coordinatorKey, CoordinatorServer server, String inProcessName,
                                  SslContext clientTls, Map<String, Double> verifyMillis, List<ClientRound> clientRows,
                                  List<io.pqfl.client.agent.LocalDp> localDps)
            throws Exception {
        SignatureScheme clientScheme = spec.scheme();
        ExecutorService pool = Executors.newFixedThreadPool(spec.clients());
        List<ManagedChannel> channels = new ArrayList<>();
        List<Future<ClientAgent.Summary>> futures = new ArrayList<>();
        for (int i = 0; i < spec.clients(); i++) {
            int index = i;
            ManagedChannel ch = connect(spec, server, inProcessName, clientTls);
            channels.add(ch);
            ManInTheMiddle mitm = spec.attacks().any() ? new ManInTheMiddle(spec.attacks(), i, Keys.generate(clientScheme)) : null;
            Channel channel = mitm != null ? ClientInterceptors.intercept(ch, mitm) : ch;
            ClientAgent.Settings settings = ClientAgent.Settings.builder(new ClientId(clientName(i)), keys.get(i),
                    coordinatorKey.verifyingKey()).device("cpu").pollWait(Duration.ofSeconds(5))
                    .certificate(certificates.get(i)).seed(spec.seed() + i)
                    .signing(spec.signing()).build();
            ClientAgent.Hooks.Builder hooks = ClientAgent.Hooks.builder();
            io.pqfl.client.agent.LocalDp local = spec.localDp() == null ? null : spec.localDp().newTransform();
            if (local != null) {
                localDps.add(local);
            }
            if (spec.attacks().poison() > 0 || local != null) {
                hooks.transformUpdates((round, global, trained) -> {
                    ModelWeights w = spec.attacks().poison() > 0 && spec.attacks().decide(index, round) == AttackPlan.Attack.POISON
                            ? poison(global, trained, spec.attacks()) : trained;
                    return local == null ? w : local.apply(round, global, w);
                });
            }
            hooks.observe(r -> clientRows.add(new ClientRound(spec.arm(), r.round(), r.client().value(),
                    attackName(spec.attacks(), mitm, index, r.round()), r.trainMillis(), r.digestNanos() / 1e6,
                    r.signNanos() / 1e6, verifyMillis.getOrDefault(r.round() + "/" + r.client(), 0.0), r.updateBytes(),
                    r.signatureBytes(), r.uploadMillis(), r.accepted(), r.reason())));
            ClientAgent agent = new ClientAgent(channel, settings, hooks.build(), trainers.get(i), ClientAgent.Progress.NONE);
            futures.add(pool.submit(agent::run));
        }
        for (Future<ClientAgent.Summary> f : futures) {
            f.get(spec.rounds() * (spec.roundTimeout().toMillis() + 120_000), TimeUnit.MILLISECONDS);
        }
        pool.shutdown();
        for (ManagedChannel ch : channels) {
            ch.shutdownNow();
        }
    }

    /** A connection to the arm's coordinator over the arm's transport. */
    private static ManagedChannel connect(Spec spec, CoordinatorServer server, String inProcessName, SslContext clientTls) {
        if (spec.inProcess()) {
            return InProcessChannelBuilder.forName(inProcessName).build();
        }
        NettyChannelBuilder netty = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).maxInboundMessageSize(8 << 20);
        return (spec.transport() == Transport.TLS ? netty.sslContext(clientTls) : netty.usePlaintext()).build();
    }

    /**
     * Why {@code spec}'s partition of {@code train} cannot be trained on, or null if it can: a client left with fewer
     * than two examples (one to train on, one held out). For a command line to refuse before anything starts; a run
     * refuses the same (IllegalArgumentException).
     */
    public static String untrainable(Spec spec, Examples train) {
        return spec.userTrainer() ? null : untrainable(Partitioner.split(train, spec.clients(), spec.partition(), spec.alpha(),
                spec.examplesPerClient(), spec.seed()), train.size(), spec);
    }

    private static String untrainable(List<int[]> parts, int examples, Spec spec) {
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i).length < 2) {
                return clientName(i) + " would get " + parts.get(i).length + " of the " + examples + " training examples ("
                        + spec.partition().name().toLowerCase(Locale.ROOT) + " partition over " + spec.clients()
                        + " clients), and every client needs at least 2 (one to train on, one held out): use at most "
                        + examples / 2 + " --clients"
                        + (spec.partition() == Partitioner.Kind.IID ? "" : ", or a partition that gives every client data");
            }
        }
        return null;
    }

    /** Client {@code i}'s training and held-out examples: its partition, the last tenth held out. */
    private static Examples[] clientData(Examples train, List<int[]> parts, int i) {
        Examples mine = train.select(parts.get(i));
        int evalCount = Math.max(1, mine.size() / 10);
        return new Examples[] {mine.range(0, mine.size() - evalCount), mine.range(mine.size() - evalCount, mine.size())};
    }

    /**
     * Every client a {@link PooledAgent} of a {@link VirtualFleet} over a few shared connections: its own key, session
     * and signatures, but no thread or model of its own; a sampled client's model exists only while a worker trains it.
     */
    private static FleetStats runFleet(VirtualFleet.Demand demand, Spec spec, Examples train, List<int[]> parts, TaskKind task, ModelWeights initial,
                                       List<SigningKey> keys, List<byte[]> certificates, SigningKey coordinatorKey,
                                       FederationEngine engine, CoordinatorConfig config, CoordinatorServer server,
                                       String inProcessName, SslContext clientTls, Map<String, Double> verifyMillis,
                                       List<ClientRound> clientRows, List<io.pqfl.client.agent.LocalDp> localDps, Path dir,
                                       Consumer<String> progress, CoordinatorMetrics metrics) throws Exception {
        Scale scale = spec.scale();
        long start = System.nanoTime();
        long processCpuStart = processCpuNanos();
        io.pqfl.sim.fleet.ThreadCpu threadCpuStart = io.pqfl.sim.fleet.ThreadCpu.now();
        var setup = new io.pqfl.sim.fleet.WorkerSetup(spec.trainer() == null ? spec.model().id() : "",
                spec.trainer() == null ? Map.of() : spec.trainer().options(), task.name(), spec.seed(), initial.manifest(),
                scale.device());
        int connections = Math.max(2, Math.min(8, scale.workers()));
        List<ManagedChannel> channels = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            channels.add(connect(spec, server, inProcessName, clientTls));
        }
        int handlers = Math.min(512, Math.min(spec.clients(), spec.perRound() + 16));
        // One cache for the whole fleet: a round's model crosses the loopback to the first clients that ask for it,
        // and the others name the copy the first one verified (each still checks the coordinator's signatures over it).
        io.pqfl.client.agent.ModelCache models = io.pqfl.client.agent.ModelCache.holding(2);
        try (io.pqfl.sim.fleet.TrainingPool pool = io.pqfl.sim.fleet.TrainingPool.open(setup, scale.workers(),
                dir.resolve("workers"), progress);
             VirtualFleet fleet = new VirtualFleet(Duration.ofSeconds(30), scale.behaviour(), scale.onFailure(), handlers,
                     progress)) {
            for (int i = 0; i < spec.clients(); i++) {
                int index = i;
                ClientAgent.Settings settings = ClientAgent.Settings.builder(new ClientId(clientName(i)), keys.get(i),
                        coordinatorKey.verifyingKey()).device("cpu").certificate(certificates.get(i)).seed(spec.seed() + i)
                        .signing(spec.signing()).build();
                ClientAgent.Observer fleetObserver = fleet.observer();
                ClientAgent.Hooks.Builder fleetHooks = ClientAgent.Hooks.builder().modelCache(models);
                if (spec.localDp() != null) {
                    io.pqfl.client.agent.LocalDp local = spec.localDp().newTransform();
                    localDps.add(local);
                    fleetHooks.transformUpdates(local);
                }
                ClientAgent.Hooks hooks = fleetHooks.observe(r -> {
                    clientRows.add(new ClientRound(spec.arm(), r.round(), r.client().value(), "none", r.trainMillis(),
                            r.digestNanos() / 1e6, r.signNanos() / 1e6,
                            verifyMillis.getOrDefault(r.round() + "/" + r.client(), 0.0), r.updateBytes(),
                            r.signatureBytes(), r.uploadMillis(), r.accepted(), r.reason()));
                    fleetObserver.round(r);
                }).build();
                Trainer trainer = pool.trainer(index, initial.manifest(), k -> clientData(train, parts, k),
                        scale.behaviour().slowdown(index), (client, round, what) -> fleet.failed(clientName(client), round, what));
                fleet.add(new io.pqfl.client.agent.PooledAgent(channels.get(i % connections), settings, hooks, trainer));
            }
            progress.accept(spec.arm() + ": " + spec.clients() + " virtual clients over " + connections
                    + " connections, each joining when first sampled; " + spec.perRound() + " sampled per round, "
                    + pool.size() + " training worker" + (pool.size() == 1 ? " in this JVM" : " processes"));
            fleet.start(64); // many Hellos in flight: their ledger entries share commits
            demand.attach(fleet);
            long[] lastProgress = {-1};
            Duration max = Duration.ofMinutes(10).plus(spec.roundTimeout().plusMinutes(2).multipliedBy(spec.rounds() + 1));
            try {
                fleet.await(max, Duration.ofSeconds(10), () -> {
                    long now = pool.jobs() + engine.status().closedRounds() * 1_000_000L;
                    boolean moved = now != lastProgress[0];
                    lastProgress[0] = now;
                    return moved ? null : why(engine, config);
                }, () -> engine.failure().map(t -> "the coordinator's round loop failed: " + t).orElse(null));
            } finally {
                channels.forEach(ManagedChannel::shutdownNow);
            }
            long wall = (System.nanoTime() - start) / 1_000_000;
            double ideal = pool.computeMillis() / (double) pool.size();
            return new FleetStats(pool.size(), pool.computeMillis(), pool.cpuMillis(), pool.jobs(), wall,
                    ideal > 0 ? wall / ideal : Double.NaN, (processCpuNanos() - processCpuStart) / 1_000_000,
                    io.pqfl.sim.fleet.Rss.peakBytes("self"), pool.peakWorkerRssBytes(), fleet.dropouts(), fleet.late(), fleet.failures(),
                    fleet.joined(), io.pqfl.sim.fleet.ThreadCpu.now().since(threadCpuStart),
                    (long) (metrics.tasks(false) + metrics.tasks(true)), (long) metrics.tasks(true));
        }
    }

    /** CPU time of this JVM, all its threads (the JIT compiler's and the collector's too), in nanoseconds. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** What the federation is waiting for, in a sentence: printed when a fleet's run has not moved for a while. */
    static String why(FederationEngine engine, CoordinatorConfig config) {
        var st = engine.status();
        return switch (st.stage()) {
            case WAITING_FOR_CLIENTS -> "waiting to open round " + (st.closedRounds() + 1) + ": " + st.connectedClients()
                    + " live eligible clients, " + config.minClients() + " needed";
            case ROUND_OPEN -> "round " + st.currentRound() + " open: waiting for its sampled clients' updates (it closes "
                    + "when all have answered, or at its deadline, " + config.roundTimeout().toSeconds() + " s after it opened)";
            case AGGREGATING -> "aggregating round " + st.currentRound();
            case EVALUATING -> "waiting for evaluations of round " + st.modelRound() + "'s model ("
                    + st.connectedClients() + " live clients)";
            case FINISHED -> "finished; waiting for the clients to hear it";
        };
    }

    private static void deleteTree(Path p) throws java.io.IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    static String clientName(int i) {
        return String.format("client-%03d", i);
    }

    /** What protected the connections, from the coordinator's handshake counter (per negotiated group). */
    private static String channel(Spec spec, CoordinatorMetrics metrics) {
        return switch (spec.transport()) {
            case IN_PROCESS -> "in-process";
            case PLAINTEXT -> "plaintext";
            case TLS -> "TLS 1.3, " + metrics.registry().find("pqfl.tls.handshakes").counters().stream()
                    .map(c -> c.getId().getTag("group") + " (" + (long) c.count() + " connections)")
                    .collect(Collectors.joining(", "));
        };
    }

    private static String attackName(AttackPlan plan, ManInTheMiddle mitm, int client, long round) {
        AttackPlan.Attack a = plan.decide(client, round) == AttackPlan.Attack.POISON ? AttackPlan.Attack.POISON
                : mitm == null ? AttackPlan.Attack.NONE : mitm.appliedIn(round);
        return a.name().toLowerCase(Locale.ROOT);
    }

    /** Model poisoning by an enrolled client: its change to the global model, scaled up or reversed. */
    static ModelWeights poison(ModelWeights global, ModelWeights trained, AttackPlan plan) {
        float k = plan.poisonMode().equals("signflip") ? -plan.poisonScale() : plan.poisonScale();
        ModelWeights out = trained.copy();
        for (int t = 0; t < out.tensorCount(); t++) {
            float[] o = out.tensor(t);
            float[] g = global.tensor(t);
            for (int i = 0; i < o.length; i++) {
                o[i] = g[i] + k * (o[i] - g[i]);
            }
        }
        return out;
    }
}
