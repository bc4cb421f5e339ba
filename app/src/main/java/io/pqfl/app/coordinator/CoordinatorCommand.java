package io.pqfl.app.coordinator;

import io.grpc.netty.NettyServerBuilder;
import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.coordinator.aggregate.TrainingSchedule;
import io.pqfl.app.DurationConverter;
import io.pqfl.app.PasswordOptions;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.metrics.MetricsEndpoint;
import io.pqfl.coordinator.dashboard.DashboardServer;
import io.pqfl.coordinator.dashboard.DashboardState;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.TrainingConfig;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl coordinator}: run a federation's coordinator until its rounds are done or it is stopped. */
@Command(name = "coordinator", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a coordinator: enroll clients from a trust directory, run signed rounds over gRPC,",
            "verify and aggregate updates, sign and publish each global model, keep a ledger and checkpoints.",
            "Restarting with the same --data-dir resumes the run. Settings may also come from --config FILE",
            "(properties, keys = option names without dashes). It serves TLS 1.3 (--tls-cert), or plaintext",
            "only when asked with --plaintext; 'pqfl coordinator init' creates everything TLS needs."},
        subcommands = CoordinatorInitCommand.class)
public final class CoordinatorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Read settings from a properties file.")
    Path config;

    @Option(names = "--federation-id", defaultValue = "pqfl", description = "Federation id (default: ${DEFAULT-VALUE}).")
    String federationId;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Listen address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "50051", description = "gRPC port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    // Not required = true: picocli would then demand it before the 'init' subcommand too; call() checks it.
    @Option(names = "--key", paramLabel = "FILE", description = "The coordinator's private key (.key); required.")
    Path key;

    @Mixin
    PasswordOptions password;

    @Option(names = "--data-dir", defaultValue = "pqfl-data", paramLabel = "DIR",
            description = "Database, checkpoints and spool (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--trust-dir", paramLabel = "DIR", description = "Client public keys, <client-id>.pub (default: DATA-DIR/trust).")
    Path trustDir;

    @Option(names = "--jdbc-url", paramLabel = "URL",
            description = "Database URL, e.g. jdbc:postgresql://db/pqfl (default: an SQLite file in DATA-DIR).")
    String jdbcUrl;

    @Option(names = "--schemes", split = ",", paramLabel = "SCHEME",
            description = "Signature schemes accepted from clients (default: all post-quantum schemes).")
    List<SignatureScheme> schemes;

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds to run (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--clients-per-round", defaultValue = "0",
            description = "Clients sampled per round; 0 uses --fraction (default: ${DEFAULT-VALUE}).")
    int clientsPerRound;

    @Option(names = "--fraction", defaultValue = "1.0", description = "Fraction of live clients sampled (default: ${DEFAULT-VALUE}).")
    double fraction;

    @Option(names = "--roster", paramLabel = "FILE",
            description = "Sample rounds and evaluations among these client ids (one per line; # comments), whether they "
                    + "said Hello yet or not, instead of among the live clients: for clients that are all known and come "
                    + "when asked (silos started on demand). docs/COORDINATOR.md, \"Sampling from a roster\".")
    Path roster;

    @Option(names = "--min-clients", defaultValue = "2",
            description = "Clients needed to start a round and updates needed to aggregate it (default: ${DEFAULT-VALUE}).")
    int minClients;

    @Option(names = "--round-timeout", defaultValue = "10m", converter = DurationConverter.class,
            description = "Round deadline (default: ${DEFAULT-VALUE}).")
    Duration roundTimeout;

    @Option(names = "--strategy", defaultValue = "fedavg",
            description = "fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedmedian, trimmedmean, krum, multikrum (default: ${DEFAULT-VALUE}).")
    String strategy;

    @Option(names = "--strategy-param", paramLabel = "KEY=VALUE",
            description = "Strategy parameter, e.g. mu=0.01 (fedprox), eta=0.01 (fedadam), beta=0.1 (trimmedmean), f=1,m=2 (krum).")
    Map<String, String> strategyParams = Map.of();

    @Option(names = "--model", defaultValue = "mlp",
            description = "Start from a fresh built-in model: mlp, cnn, mlp-large (default: ${DEFAULT-VALUE}); ignored with --initial-model.")
    String model;

    @Option(names = "--initial-model", paramLabel = "FILE", description = "Start from this model file instead of a fresh model: safetensors (e.g. from PyTorch or "
                    + "`pqfl model init`) or a pqfl model file; its tensors are the federation's manifest.")
    Path initialModel;

    @Option(names = "--seed", defaultValue = "1", description = "Seed for the initial model and client sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--local-epochs", defaultValue = "1", description = "Client epochs per round (default: ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Client batch size (default: ${DEFAULT-VALUE}).")
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

    @Option(names = "--optimizer", defaultValue = "adam", description = "Client optimiser: adam or sgd (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--max-update-mib", defaultValue = "512", description = "Largest accepted update (default: ${DEFAULT-VALUE} MiB).")
    long maxUpdateMib;

    @Option(names = "--hello-rate", defaultValue = "20", description = "Hello calls per second allowed per remote address (default: ${DEFAULT-VALUE}).")
    double helloRate;

    @Option(names = "--hello-burst", defaultValue = "40", description = "Burst of Hello calls allowed per remote address (default: ${DEFAULT-VALUE}).")
    int helloBurst;

    @Option(names = "--upload-timeout", defaultValue = "10m", converter = DurationConverter.class,
            description = "Longest an update stream may stay open (default: ${DEFAULT-VALUE}).")
    Duration uploadTimeout;

    @Option(names = "--upload-idle-timeout", defaultValue = "30s", converter = DurationConverter.class,
            description = "An upload that sends nothing for this long is cut off and its slot freed (default: ${DEFAULT-VALUE}).")
    Duration uploadIdleTimeout;

    @Option(names = "--max-uploads", defaultValue = "1024",
            description = "Uploads in progress at once; more are refused BUSY and retried (default: ${DEFAULT-VALUE}).")
    int maxUploads;

    @Option(names = "--upload-memory-mib", defaultValue = "0",
            description = "Tensor bytes all uploads in progress may hold together; 0 = half the heap (default: ${DEFAULT-VALUE}).")
    long uploadMemoryMib;

    @Option(names = "--max-examples", defaultValue = "1000000",
            description = "Largest example count one update may claim, i.e. its weight in FedAvg (default: ${DEFAULT-VALUE}).")
    long maxExamples;

    @Option(names = "--session-ttl", defaultValue = "15m", converter = DurationConverter.class,
            description = "How long a client's session from Hello stays valid (default: ${DEFAULT-VALUE}).")
    Duration sessionTtl;

    @Option(names = "--call-rate", defaultValue = "50",
            description = "GetTask/SubmitUpdate/GetStatus calls per second allowed per remote address (default: ${DEFAULT-VALUE}).")
    double callRate;

    @Option(names = "--call-burst", defaultValue = "200",
            description = "Burst of those calls allowed per remote address (default: ${DEFAULT-VALUE}).")
    int callBurst;

    @Option(names = "--max-calls-per-connection", defaultValue = "256",
            description = "Concurrent calls one connection may hold open (default: ${DEFAULT-VALUE}).")
    int maxCallsPerConnection;

    @Option(names = "--metrics-port", defaultValue = "9464",
            description = "Prometheus /metrics port; -1 disables (default: ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--metrics-host", defaultValue = "127.0.0.1",
            description = "Address the unauthenticated /metrics endpoint listens on (default: ${DEFAULT-VALUE}; 0.0.0.0 "
                    + "for a Prometheus on another host).")
    String metricsHost;

    @Option(names = "--server-threads", defaultValue = "-1",
            description = "Threads serving calls; 0 = gRPC's cached pool (default: max(8, 4 x cores)).")
    int serverThreads;

    @Option(names = "--receipt-trust", paramLabel = "DIR",
            description = "Public keys of the aggregators' clients, <client-id>.pub: every entry of an aggregator's receipt "
                    + "must then be an update its client signed (docs/AGGREGATOR.md). Without it, receipts are checked "
                    + "for their sums and the aggregator's signature only.")
    Path receiptTrust;

    @Mixin
    ServerTlsOptions tls;

    @Option(names = "--dashboard-port", defaultValue = "-1", paramLabel = "PORT",
            description = "Serve the read-only web dashboard on this port (HTTPS with the coordinator's TLS; HTTP under "
                    + "--plaintext); -1 disables (default: ${DEFAULT-VALUE}). docs/COORDINATOR.md, \"Dashboard\".")
    int dashboardPort;

    @Option(names = "--dashboard-host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address the dashboard listens on (default: ${DEFAULT-VALUE}; it has no login: expose it only "
                    + "to operators).")
    String dashboardHost;

    @Option(names = "--dashboard-names", split = ",", paramLabel = "NAME",
            description = "Host names the dashboard answers to beside localhost, loopback and --dashboard-host (e.g. the "
                    + "name operators browse to); a request for any other name is refused 421 (DNS rebinding).")
    List<String> dashboardNames = List.of();

    @Option(names = "--dashboard-tls-cert", paramLabel = "FILE",
            description = "The dashboard's certificate (PEM chain), e.g. an ECDSA one a browser can verify (default: "
                    + "--tls-cert; browsers cannot verify ML-DSA certificates yet). The key exchange stays --tls-key-exchange.")
    Path dashboardTlsCert;

    @Option(names = "--dashboard-tls-key", paramLabel = "FILE",
            description = "The --dashboard-tls-cert's private key (unencrypted PEM).")
    Path dashboardTlsKey;

    @Mixin
    EvaluationOptions evaluation;

    @Mixin
    io.pqfl.app.DpOptions dp;

    @Mixin
    io.pqfl.app.SecAggOptions secAgg;

    @Option(names = "--linger", defaultValue = "10s", converter = DurationConverter.class,
            description = "Keep serving this long after the last round so clients learn the run is over (default: ${DEFAULT-VALUE}).")
    Duration linger;

    @Override
    public Integer call() throws Exception {
        if (key == null) {
            throw new MissingParameterException(spec.commandLine(), spec.findOption("--key"),
                    "Missing required option: '--key=FILE'");
        }
        tls.check();
        if ((dashboardTlsCert == null) != (dashboardTlsKey == null)) {
            throw new io.pqfl.app.UsageException("--dashboard-tls-cert and --dashboard-tls-key go together");
        }
        if (dashboardTlsCert != null && !tls.enabled()) {
            throw new io.pqfl.app.UsageException("--dashboard-tls-cert needs TLS (--tls-cert): under --plaintext the "
                    + "dashboard is served over HTTP");
        }
        if (dashboardTlsCert != null && dashboardPort < 0) {
            throw new io.pqfl.app.UsageException("--dashboard-tls-cert without --dashboard-port");
        }
        SigningKey coordinatorKey = KeyPem.readSigningKey(key, password.password());
        CoordinatorConfig cfg;
        try {
            CoordinatorConfig.Builder cfgBuilder = CoordinatorConfig.builder().federationId(federationId).dataDir(dataDir).trustDir(trustDir).jdbcUrl(jdbcUrl)
                    .acceptedSchemes(schemes == null ? CoordinatorConfig.postQuantumSchemes() : EnumSet.copyOf(schemes))
                    .rounds(rounds).clientsPerRound(clientsPerRound).clientFraction(fraction).minClients(minClients)
                    .roundTimeout(roundTimeout).strategy(strategy).strategyParams(strategyParams)
                    .initialWeights(initialModel == null ? ModelCatalog.byId(model).initialWeights(seed) : null)
                    .initialModel(initialModel).seed(seed)
                    .training(new TrainingConfig(localEpochs, batchSize, learningRate, 0f, optimizer))
                    .trainingSchedule(schedule(lrSchedule, epochsSchedule))
                    .maxUpdateBytes(maxUpdateMib << 20).helloRateLimit(helloRate, helloBurst).uploadTimeout(uploadTimeout)
                    .uploadIdleTimeout(uploadIdleTimeout).maxExamplesPerUpdate(maxExamples).sessionTtl(sessionTtl)
                    .callRateLimit(callRate, callBurst).maxCallsPerConnection(maxCallsPerConnection)
                    .uploadLimits(maxUploads, uploadMemoryMib << 20)
                    .clientCertificates(tls.clientCa, tls.clientCrl).receiptTrustDir(receiptTrust)
                    .differentialPrivacy(dp.settings())
                    .secureAggregation(secAgg.settings());
            evaluation.federated(cfgBuilder);
            if (roster != null) {
                cfgBuilder.sampleFrom(RosterFile.read(roster));
            }
            if (serverThreads >= 0) {
                cfgBuilder.serverThreads(serverThreads);
            }
            if (evaluation.central()) {
                cfgBuilder.centralEvaluator(evaluation.centralEvaluator(model, initialModel));
            }
            cfg = cfgBuilder.build();
            Strategies.create(strategy, strategyParams).checkClients(cfg.minUpdates());
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(host, port));
        String transport = "plaintext";
        if (tls.enabled()) {
            builder.sslContext(tls.serverContext(coordinatorKey, key, password));
            transport = tls.describe();
        } else {
            org.slf4j.LoggerFactory.getLogger(CoordinatorCommand.class).warn("Serving plaintext gRPC: updates and models "
                    + "are signed, but the channel is not confidential; give --tls-cert for TLS 1.3 with X25519MLKEM768");
        }
        TrustStore trust = TrustStore.open(cfg.trustDir());
        CoordinatorMetrics metrics = new CoordinatorMetrics();
        Coordinator coordinator;
        try {
            coordinator = Coordinator.open(cfg, coordinatorKey, trust, metrics, Clock.systemUTC(), new SecureRandom());
        } catch (IllegalStateException | IllegalArgumentException | SQLException e) {
            throw new CliException(e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (CoordinatorServer server = new CoordinatorServer(builder, coordinator).start().withShutdownHook();
             MetricsEndpoint endpoint = metricsPort < 0 ? null : new MetricsEndpoint(metricsHost, metricsPort, metrics);
             DashboardServer dashboard = dashboardPort < 0 ? null : new DashboardServer(dashboardHost, dashboardPort,
                     tls.enabled() ? tls.dashboardContext(coordinatorKey, password, dashboardTlsCert, dashboardTlsKey) : null,
                     new DashboardState(coordinator, transport, Clock.systemUTC()), java.util.Set.copyOf(dashboardNames))) {
            out.printf("pqfl coordinator: federation %s, key %s (%s), listening on %s:%d (%s)%s%n", cfg.federationId(),
                    coordinatorKey.keyId(), coordinatorKey.scheme(), host, server.port(), transport,
                    endpoint == null ? "" : ", metrics on :" + endpoint.port() + "/metrics");
            if (dashboard != null) {
                out.printf("  dashboard: %s://%s:%d/%s%n", dashboard.scheme(), dashboardHost, dashboard.port(),
                        dashboard.scheme().equals("http") ? " (plaintext: read-only, but not confidential)" : "");
            }
            out.printf("  %d clients enrolled in %s; %d rounds of %s (%s); data in %s%n", trust.clients().size(),
                    cfg.trustDir(), cfg.rounds(), cfg.strategy(), cfg.trainingSchedule().describe(), cfg.dataDir());
            if (!cfg.roster().isEmpty()) {
                long enrolled = cfg.roster().stream().filter(c -> trust.find(c).filter(t -> !t.revoked()).isPresent()).count();
                out.printf("  rounds sample among the %d clients of the roster %s that are enrolled and not revoked (%d "
                        + "with a key in %s%s), whether they said Hello yet or not%n", cfg.roster().size(), roster, enrolled,
                        cfg.trustDir(), cfg.clientCaCert() == null ? "" : "; certificate clients count until their Hello");
                if (enrolled < cfg.minClients() && cfg.clientCaCert() == null) {
                    out.printf("  no round can open until %d of them are enrolled (--min-clients): add their keys to %s, "
                            + "or enroll them with tokens%n", cfg.minClients(), cfg.trustDir());
                }
            }
            out.flush();
            boolean done;
            try {
                done = coordinator.rounds().awaitFinished(Duration.ofDays(3650));
            } catch (IllegalStateException e) {
                if (e.getCause() instanceof io.pqfl.coordinator.privacy.PrivacyBudgetExhausted budget) {
                    throw new CliException(budget.getMessage(), budget);
                }
                throw e;
            }
            if (!done) {
                out.println("Stopped before the last round; restart with the same --data-dir to resume.");
                out.flush();
                return Cli.OK;
            }
            var status = coordinator.rounds().status();
            out.printf("Finished: %d rounds closed; final model %s (round %d)%n", status.closedRounds(), status.modelDigest(),
                    status.modelRound());
            if (cfg.dp() != null) {
                out.printf("Differential privacy: epsilon %.4f spent at delta %g (docs/PRIVACY.md)%n",
                        metrics.gaugeValue("pqfl.dp.epsilon"), cfg.dp().delta());
            }
            out.flush();
            Thread.sleep(linger.toMillis());
        }
        return Cli.OK;
    }

    /** The training schedule the options name; a usage error (exit 2) naming what is wrong. */
    static TrainingSchedule schedule(String lr, String epochs) {
        try {
            return TrainingSchedule.parse(lr, epochs);
        } catch (IllegalArgumentException e) {
            throw new io.pqfl.app.UsageException("--lr-schedule/--epochs-schedule: " + e.getMessage());
        }
    }
}
