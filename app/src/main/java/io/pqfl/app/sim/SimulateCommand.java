package io.pqfl.app.sim;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.coordinator.aggregate.TrainingSchedule;
import io.pqfl.app.DataOptions;
import io.pqfl.app.UsageException;
import io.pqfl.app.DurationConverter;
import io.pqfl.app.TrainerChoice;
import io.pqfl.client.data.DataException;
import io.pqfl.client.data.Examples;
import io.pqfl.client.data.DataSpec;
import io.pqfl.client.data.Datasets;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.sim.SimulationRunner;
import io.pqfl.sim.fleet.VirtualFleet;
import io.pqfl.sim.attack.AttackPlan;
import io.pqfl.sim.data.Partitioner;
import io.pqfl.sim.report.ReportWriter;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl simulate}: whole signed federations, compared across signature schemes and attacks. */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run whole federations - the real coordinator and client agents over loopback gRPC, DJL training on",
            "Fashion-MNIST or the --data given - once per signature scheme ('none' is the unsigned baseline), and report what signing costs",
            "and what it stops: results.csv, results.json, PNG plots and report.html in the run directory."})
public final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Read settings from a properties file.")
    Path config;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "paper: the schemes of arXiv:2409.04637 (ML-DSA-44/65/87, Falcon-512/1024, SLH-DSA-SHA2-128f/128s, none) "
                    + "on the MLP and the CNN, IID and Dirichlet(0.5) data.")
    String preset;

    @Option(names = "--clients", defaultValue = "8", description = "Virtual clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--schemes", split = ",", defaultValue = "ML-DSA-65,none", paramLabel = "SCHEME|none",
            description = "Signature schemes to compare, 'none' for unsigned (default: ${DEFAULT-VALUE}).")
    List<String> schemes;

    @Option(names = "--model", split = ",", defaultValue = "mlp", description = "mlp, cnn, mlp-large; several compare models (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--strategy", defaultValue = "fedavg", description = "Aggregation strategy (default: ${DEFAULT-VALUE}).")
    String strategy;

    @Option(names = "--strategy-param", paramLabel = "KEY=VALUE", description = "Strategy parameter.")
    Map<String, String> strategyParams = Map.of();

    @Option(names = "--local-epochs", defaultValue = "1", description = "Client epochs per round (default: ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Client batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr-schedule", defaultValue = "constant", paramLabel = "SPEC",
            description = "Learning rate by round: constant, step:F@N (times F every N rounds), exp:G (times G each round) "
                    + "or cosine[:MIN] (down to MIN, default lr/100, in the last round) (default: ${DEFAULT-VALUE}).")
    String lrSchedule;

    @Option(names = "--epochs-schedule", paramLabel = "R:E,...",
            description = "Local epochs by round: from round R on, E epochs (e.g. 1:1,5:2); rounds before the first "
                    + "entry use --local-epochs.")
    String epochsSchedule;

    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Client learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;

    @Option(names = "--partition", split = ",", defaultValue = "iid",
            description = "iid, dirichlet or shards; several compare data settings (default: ${DEFAULT-VALUE}).")
    List<String> partitions;

    @Option(names = "--alpha", defaultValue = "0.5", description = "Dirichlet concentration (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--examples-per-client", defaultValue = "1500",
            description = "Training examples per client, 0 for all of its partition (default: ${DEFAULT-VALUE}).")
    int examplesPerClient;

    @Option(names = "--test-examples", defaultValue = "2000", description = "Test examples for the global model (default: ${DEFAULT-VALUE}).")
    int testExamples;

    @Option(names = "--seed", defaultValue = "1", description = "Seed for partitions, models, sampling, attacks (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--transport", defaultValue = "tls",
            description = "tls (loopback sockets, TLS 1.3 with X25519MLKEM768, clients admitted by ML-DSA certificates), "
                    + "grpc (plaintext loopback, trust directory) or inprocess (default: ${DEFAULT-VALUE}).")
    String transport;

    @Option(names = "--attack-tamper", defaultValue = "0", description = "Rate of updates altered in transit.")
    double tamper;

    @Option(names = "--attack-replay", defaultValue = "0", description = "Rate of updates replaced by the client's earlier-round update.")
    double replay;

    @Option(names = "--attack-forge", defaultValue = "0", description = "Rate of updates replaced by forgeries (made-up signature).")
    double forge;

    @Option(names = "--attack-unenrolled", defaultValue = "0", description = "Rate of updates submitted with an unenrolled key.")
    double unenrolled;

    @Option(names = "--attack-poison", defaultValue = "0", description = "Rate of poisoned updates from enrolled clients.")
    double poison;

    @Option(names = "--poison-mode", defaultValue = "scale", description = "scale or signflip (default: ${DEFAULT-VALUE}).")
    String poisonMode;

    @Option(names = "--poison-scale", defaultValue = "10", description = "Poisoning factor (default: ${DEFAULT-VALUE}).")
    float poisonScale;

    @Option(names = "--round-timeout", defaultValue = "5m", converter = DurationConverter.class,
            description = "Round deadline (default: ${DEFAULT-VALUE}).")
    Duration roundTimeout;

    @Mixin
    DataOptions data;

    @Option(names = "--test-fraction", defaultValue = "0.2",
            description = "For CSV and image data: the seeded random share of the examples kept apart as the test set of "
                    + "the global model (IDX data has its own test files) (default: ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--clients-per-round", defaultValue = "0", paramLabel = "N",
            description = "Clients sampled per round by the coordinator (seeded); 0: every client, or --fraction (default: ${DEFAULT-VALUE}).")
    int clientsPerRound;

    @Option(names = "--fraction", paramLabel = "F",
            description = "Share of the clients sampled per round, instead of --clients-per-round.")
    Double fraction;

    @Option(names = "--workers", paramLabel = "N",
            description = "Clients training at once: 1 trains in this JVM, more start worker processes (default: the cores "
                    + "less one, which the coordinator and the clients' signing and TLS need; at least 1).")
    Integer workers;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|gpu|auto",
            description = "Where the workers train the virtual clients (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dropout", defaultValue = "0", paramLabel = "P",
            description = "Chance that a sampled client drops out of its round (seeded; default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--speed-spread", defaultValue = "0", paramLabel = "S",
            description = "Client speed spread: a client's device takes 1 + S*u times the worker's compute, u uniform in [0,1) per client (default: ${DEFAULT-VALUE}).")
    double speedSpread;

    @Option(names = "--on-client-failure", defaultValue = "fail", paramLabel = "fail|continue",
            description = "A client's failure (training, delivery, joining) ends the run (fail) or is reported and counted (continue) (default: ${DEFAULT-VALUE}).")
    String onClientFailure;

    /** The sampling, workers, heterogeneity and failure policy of every arm (from the options above). */
    private SimulationRunner.Scale scale;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/simulate-TIMESTAMP).")
    Path out;

    @Option(names = "--verbose", description = "Show the full log on the console too (it always goes to simulate.log in "
            + "the run directory; without this the console shows progress, errors and the summary).")
    boolean verbose;

    /**
     * A user's trainer for every virtual client (see {@link SimulationRunner.TrainerSetup} for the options each one is
     * given); without these options, the built-in --model on Fashion-MNIST partitions.
     */
    @Mixin
    TrainerChoice trainerChoice;

    @Mixin
    io.pqfl.app.DpOptions dpOptions;

    @Mixin
    io.pqfl.app.SecAggOptions secAggOptions;

    @Mixin
    io.pqfl.app.LocalDpOptions localDpOptions;

    private io.pqfl.coordinator.privacy.DpSettings dp;
    private io.pqfl.coordinator.secagg.SecAggSettings secAgg;

    @Override
    public Integer call() throws Exception {
        if ("paper".equalsIgnoreCase(preset)) {
            schemes = List.of("ML-DSA-44", "ML-DSA-65", "ML-DSA-87", "Falcon-512", "Falcon-1024", "SLH-DSA-SHA2-128f",
                    "SLH-DSA-SHA2-128s", "none");
            models = List.of("mlp", "cnn");
            partitions = List.of("iid", "dirichlet");
        } else if (preset != null) {
            throw new CliException("unknown preset '" + preset + "': the only preset is 'paper'");
        }
        List<Signing> parsed = new ArrayList<>();
        for (String s : schemes) {
            if (s.trim().equalsIgnoreCase("none")) {
                parsed.add(Signing.NONE);
            } else {
                try {
                    parsed.add(new Signing(SigningPolicy.SIGNED, SignatureScheme.parse(s)));
                } catch (IllegalArgumentException e) {
                    throw new CliException(e.getMessage() + ", or none");
                }
            }
        }
        List<ModelCatalog> modelList = new ArrayList<>();
        List<Partitioner.Kind> partitionList = new ArrayList<>();
        AttackPlan attacks;
        try {
            for (String m : models) {
                modelList.add(ModelCatalog.byId(m));
            }
            for (String p : partitions) {
                partitionList.add(Partitioner.kind(p));
            }
            attacks = new AttackPlan(tamper, replay, forge, unenrolled, poison, poisonMode, poisonScale, seed);
            if (clients < 1 || rounds < 1) {
                throw new IllegalArgumentException("need --clients >= 1 and --rounds >= 1");
            }
            // A round aggregates at least half its sampled clients (SimulationRunner): the strategy must work with that many.
            scale = scale();
            dp = dpOptions.settings();
            if (dp != null) {
                io.pqfl.coordinator.aggregate.CentralDp.requireSumBased(Strategies.create(strategy, strategyParams));
                int perRound = scale.clientsPerRound() == 0 ? clients : scale.clientsPerRound();
                dp = dp.forExpectedClients(perRound);
                dp.checkPlan(rounds, io.pqfl.coordinator.CoordinatorConfig.largestSamplingRate(perRound, clients));
            }
            secAgg = secAggOptions.settings();
            if (secAgg != null) {
                io.pqfl.coordinator.aggregate.SecureAggregation.requireSumBased(Strategies.create(strategy, strategyParams));
            }
            Strategies.create(strategy, strategyParams).checkClients(Math.max(1, (scale.clientsPerRound() == 0 ? clients
                    : scale.clientsPerRound()) / 2));
            if (partitionList.contains(Partitioner.Kind.DIRICHLET) && !(alpha > 0)) {
                throw new IllegalArgumentException("dirichlet alpha must be > 0, got " + alpha);
            }
            SimulationRunner.Transport.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        // The built-in models and the DJL trainer's options train on data the simulation reads and partitions itself
        // (--data and its options); a user's trainer reads its own.
        boolean userTrainer = trainerChoice.custom() && !trainerChoice.djl();
        Examples train = null;
        Examples test = null;
        if (!userTrainer) {
            if (!(testFraction > 0 && testFraction < 1)) {
                throw new UsageException("--test-fraction must be in (0, 1), got " + testFraction);
            }
            DataSpec dataSpec = data.spec(trainerChoice.dataTask()).build();
            try {
                Datasets.Split split = Datasets.trainTest(dataSpec, testFraction, seed);
                train = split.train();
                test = split.heldOut();
                // The built-in models take 28x28 grey images (784 values, as IDX gives them) and classify.
                if (!trainerChoice.custom() && (train.isRegression() || train.featureCount() != 784)) {
                    throw new DataException("the built-in models (" + String.join(", ", models) + ") take 28x28 grey "
                            + "images (784 values) and classify; " + dataSpec.path() + " has examples of shape "
                            + java.util.Arrays.toString(train.shape()) + (train.isRegression() ? " with regression targets" : "")
                            + "; choose a model for it with --trainer-option model=dense (or linear, block-factory=, "
                            + "torchscript=)");
                }
            } catch (DataException e) {
                throw new CliException(e.getMessage(), e);
            }
            test = test.range(0, Math.min(testExamples, test.size()));
        }
        io.pqfl.trainer.TrainerFactory factory = trainerChoice.custom() ? trainerChoice.factory() : null;
        Path dir = out != null ? out : Path.of("runs", "simulate-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(dir);
        try (RunLog log = RunLog.to(dir, verbose)) {
            return runArms(dir, train, test, factory, parsed, modelList, partitionList, attacks);
        }
    }

    private Integer runArms(Path dir, Examples train, Examples test, io.pqfl.trainer.TrainerFactory factory,
                            List<Signing> parsed, List<ModelCatalog> modelList, List<Partitioner.Kind> partitionList,
                            AttackPlan attacks) throws Exception {
        PrintWriter w = spec.commandLine().getOut();

        List<SimulationRunner.Spec> arms = new ArrayList<>();
        TrainingConfig training = new TrainingConfig(localEpochs, batchSize, learningRate, 0f, "adam");
        boolean several = modelList.size() > 1 || partitionList.size() > 1;
        for (ModelCatalog model : modelList) {
            for (Partitioner.Kind partition : partitionList) {
                String suffix = several ? "-" + model.id() + "-" + partition.name().toLowerCase(Locale.ROOT) : "";
                if (attacks.any()) {
                    Signing first = parsed.stream().filter(s -> s.policy() == SigningPolicy.SIGNED).findFirst()
                            .orElse(Signing.NONE);
                    arms.add(arm(first.name() + "-clean" + suffix, first, model, partition, training, AttackPlan.none(),
                            setup(factory, model)));
                }
                for (Signing s : parsed) {
                    arms.add(arm(s.name() + (attacks.any() ? "-attacked" : "") + suffix, s, model, partition, training, attacks,
                            setup(factory, model)));
                }
            }
        }
        w.printf("pqfl simulate: %d arms x %d clients x %d rounds (%s, %s transport) -> %s%n", arms.size(), clients, rounds,
                attacks.any() ? "attacks " + attacks : "no attacks", transport, dir.toAbsolutePath());
        w.flush();
        for (SimulationRunner.Spec arm : arms) {
            String untrainable = SimulationRunner.untrainable(arm, train);
            if (untrainable != null) {
                throw new CliException(untrainable);
            }
        }
        // An unreported one-round warm-up, so that JIT compilation and libtorch's start-up do not land on the first arm.
        SimulationRunner.Spec first = arms.get(0);
        SimulationRunner.run(new SimulationRunner.Spec("warmup", first.signing(), first.scheme(), Math.min(2, clients), 1,
                first.model(),
                "fedavg", Map.of(), training, Partitioner.Kind.IID, alpha, Math.min(examplesPerClient, 300), seed,
                first.transport(), AttackPlan.none(), roundTimeout, first.trainer()), train,
                test == null ? null : test.range(0, Math.min(200, test.size())),
                Files.createTempDirectory("pqfl-warmup"), line -> { });
        List<SimulationRunner.Result> results = new ArrayList<>();
        int k = 0;
        for (SimulationRunner.Spec arm : arms) {
            k++;
            w.printf("[%d/%d] %s ...%n", k, arms.size(), arm.arm());
            w.flush();
            try (ArmProgress progress = ArmProgress.forConsole(w, arm.arm(), arm.rounds(), verbose)) {
                results.add(SimulationRunner.run(arm, train, test, dir, progress));
            } catch (VirtualFleet.FleetException e) {
                throw new CliException(arm.arm() + ": " + e.getMessage(), e);
            }
            SimulationRunner.Result r = results.get(results.size() - 1);
            w.printf("    accuracy %.3f -> %.3f in %.1f s; %s%n", r.initialAccuracy(), r.finalAccuracy(), r.wallMillis() / 1000.0,
                    r.channel());
            if (r.privateArm()) {
                w.printf(Locale.ROOT, "    differential privacy: epsilon %.4f at delta %g (noise multiplier %s, clip %s%s)%n",
                        r.epsilon(), dp.delta(), dp.noiseMultiplier(), dp.clip(), dp.adaptiveClipping()
                                ? String.format(Locale.ROOT, " adapting to quantile %s: ended at %.4g, updates noised at"
                                        + " multiplier %.4g", dp.adaptive().quantile(), r.clipNorm(), dp.updateNoiseMultiplier())
                                : "");
            }
            if (!Double.isNaN(r.localEpsilon())) {
                w.printf(Locale.ROOT, "    local differential privacy: each client's epsilon at most %.4f at delta %g (%s)%n",
                        r.localEpsilon(), localDpOptions.delta(), localDpOptions.describe());
            }
            if (r.secureArm()) {
                var delivered = r.clients().stream().filter(SimulationRunner.ClientRound::accepted).toList();
                w.printf(Locale.ROOT, "    secure aggregation: %.0f bytes sent per client per round (keys, shares, masked input, "
                        + "reveal), client protocol time %.1f ms (median), coordinator protocol time %.1f ms per round, "
                        + "%d of %d rounds completed%n",
                        delivered.stream().mapToLong(SimulationRunner.ClientRound::updateBytes).average().orElse(Double.NaN),
                        median(delivered.stream().mapToDouble(SimulationRunner.ClientRound::signMillis).toArray()),
                        r.secAggCoordinatorMillis() / Math.max(1, r.rounds().size()),
                        r.rounds().stream().filter(SimulationRunner.Round::completed).count(), r.rounds().size());
            } else if (secAgg != null) {
                w.println("    secure aggregation: off in this arm (it signs every message; the unsigned baseline cannot run it)");
            }
            if (r.fleet() != null) {
                w.println("    " + describe(r.fleet()));
                if (!r.fleet().cpuByThread().isEmpty()) {
                    w.println("    fleet CPU by thread: " + r.fleet().cpuByThread());
                }
            }
            w.flush();
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("clients", clients);
        settings.put("clientsPerRound", scale.clientsPerRound() == 0 ? clients : scale.clientsPerRound());
        settings.put("workers", scale.workers());
        settings.put("dropout", dropout);
        settings.put("speedSpread", speedSpread);
        settings.put("rounds", rounds);
        settings.put("schemes", schemes);
        // The federation's model: the built-in --model, or what the trainer trains (its manifest's label).
        settings.put("models", results.isEmpty() || !trainerChoice.custom() ? models
                : results.stream().map(r -> r.spec().trainer() == null ? r.spec().model().id() : r.architecture())
                        .distinct().toList());
        settings.put("partitions", partitions);
        settings.put("alpha", alpha);
        settings.put("strategy", strategy + " " + strategyParams);
        settings.put("training", training.toString());
        if (dp != null) {
            settings.put("dp", dp.toString());
        }
        settings.put("examplesPerClient", examplesPerClient);
        settings.put("testExamples", test == null ? 0 : test.size());
        if (factory != null) {
            settings.put("trainer", factory.name() + " " + trainerChoice.options(Map.of()));
        }
        settings.put("transport", transport);
        settings.put("attacks", attacks.toString());
        settings.put("seed", seed);
        settings.put("java", System.getProperty("java.version"));
        settings.put("cores", Runtime.getRuntime().availableProcessors());
        List<ReportWriter.ArmSummary> summary = ReportWriter.summarize(results);
        ReportWriter.write(dir, settings, results, summary);
        w.println();
        w.print(ReportWriter.table(summary));
        w.printf("%nReport: %s%n", dir.resolve("report.html").toAbsolutePath());
        if (!verbose) {
            w.printf("Log: %s (--verbose shows it here)%n", dir.resolve(RunLog.FILE).toAbsolutePath());
        }
        w.flush();
        return Cli.OK;
    }

    /** A fleet's measurements in one line. */
    static String describe(SimulationRunner.FleetStats f) {
        return String.format(Locale.ROOT, "fleet: %d clients joined, %d training jobs on %d worker%s, compute %.1f s "
                        + "(%.1f s of it on a core), wall %.1f s = %.2f x (compute / workers); this JVM used %.1f s of CPU "
                        + "(%.1f cores); %d tasks, %d of them without the model (the fleet held it); peak RSS %d MiB%s; "
                        + "%d dropouts, %d late updates, %d client failures",
                f.joined(), f.jobs(), f.workers(), f.workers() == 1 ? "" : "s", f.computeMillis() / 1000.0,
                f.cpuMillis() / 1000.0, f.fleetWallMillis() / 1000.0, f.overhead(), f.processCpuMillis() / 1000.0,
                f.processCpuMillis() / (double) Math.max(1, f.fleetWallMillis()), f.tasks(), f.tasksHeld(),
                f.peakRssBytes() >> 20,
                f.peakWorkerRssBytes() > 0 ? " + " + (f.peakWorkerRssBytes() >> 20) + " MiB in worker processes" : "",
                f.dropouts(), f.late(), f.failures().size());
    }

    /** One entry of {@code --schemes}: a signature scheme, or {@code none}. */
    private record Signing(SigningPolicy policy, SignatureScheme scheme) {
        /**
         * The unsigned baseline. Its clients still prove their keys at Hello and its coordinator still signs models,
         * with ML-DSA-65 keys: those of the default signed arm, so that by default the two arms differ only in whether
         * updates are signed.
         */
        static final Signing NONE = new Signing(SigningPolicy.UNSIGNED_BASELINE, SignatureScheme.ML_DSA_65);

        String name() {
            return SimulationRunner.Spec.schemeLabel(policy, scheme);
        }
    }

    private SimulationRunner.Spec arm(String name, Signing signing, ModelCatalog model, Partitioner.Kind partition,
                                      TrainingConfig training, AttackPlan attacks, SimulationRunner.TrainerSetup setup) {
        return new SimulationRunner.Spec(name, signing.policy(), signing.scheme(), clients, rounds, model, strategy,
                strategyParams, training, partition, alpha, examplesPerClient, seed,
                SimulationRunner.Transport.parse(transport), attacks, roundTimeout, setup, schedule(lrSchedule, epochsSchedule),
                scale, dp, secAgg, localDpOptions.on() ? new SimulationRunner.LocalPrivacy(localDpOptions.noiseMultiplier(),
                        localDpOptions.clip(), localDpOptions.delta()) : null);
    }

    /**
     * The arm's trainer: null for the built-in model; else the chosen factory with the trainer options (for the djl
     * trainer, {@code model} is the arm's --model unless the options name a model of their own).
     */
    private SimulationRunner.TrainerSetup setup(io.pqfl.trainer.TrainerFactory factory, ModelCatalog model) {
        if (factory == null) {
            return null;
        }
        Map<String, String> options = trainerChoice.options(trainerChoice.djl() ? Map.of()
                : data.toOptions(spec.commandLine().getParseResult(), false));
        if (trainerChoice.djl() && !options.containsKey("block-factory") && !options.containsKey("torchscript")) {
            options.putIfAbsent("model", model.id());
        }
        return new SimulationRunner.TrainerSetup(factory, options);
    }

    /** The sampling, workers, heterogeneity and failure policy the options name. */
    private SimulationRunner.Scale scale() {
        if (fraction != null && clientsPerRound != 0) {
            throw new IllegalArgumentException("give --clients-per-round or --fraction, not both");
        }
        if (fraction != null && !(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("--fraction must be in (0, 1], got " + fraction);
        }
        int perRound = fraction != null ? (int) Math.ceil(fraction * clients) : clientsPerRound;
        if (perRound < 0 || perRound > clients) {
            throw new IllegalArgumentException("--clients-per-round must be in 0.." + clients + " (--clients), got " + perRound);
        }
        // One core is left to this process (the coordinator, and every client's signing, TLS and verification): on 2
        // cores, 1,000 clients x 5 rounds took 113 s with one worker and 151 s with two (docs/SIMULATIONS.md).
        int w = workers != null ? workers : Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        if (w < 1) {
            throw new IllegalArgumentException("--workers must be >= 1, got " + w);
        }
        return new SimulationRunner.Scale(perRound, w, new VirtualFleet.Behaviour(dropout, speedSpread, seed),
                VirtualFleet.FailurePolicy.parse(onClientFailure), device(device));
    }

    private static String device(String d) {
        if (!List.of("cpu", "gpu", "auto").contains(d)) {
            throw new IllegalArgumentException("unknown --device '" + d + "': use cpu, gpu or auto");
        }
        return d;
    }

    /** The training schedule the options name; a usage error (exit 2) naming what is wrong. */
    static TrainingSchedule schedule(String lr, String epochs) {
        try {
            return TrainingSchedule.parse(lr, epochs);
        } catch (IllegalArgumentException e) {
            throw new io.pqfl.app.UsageException("--lr-schedule/--epochs-schedule: " + e.getMessage());
        }
    }

    /** The median of {@code values} (NaN when empty). */
    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
