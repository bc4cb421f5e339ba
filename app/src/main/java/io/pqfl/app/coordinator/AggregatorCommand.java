package io.pqfl.app.coordinator;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.DurationConverter;
import io.pqfl.app.PasswordOptions;
import io.pqfl.app.UsageException;
import io.pqfl.app.aggregator.Aggregator;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.agent.ClientState;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl aggregator}: an aggregator tier (docs/AGGREGATOR.md), a coordinator to its own clients and a client to
 * its parent. Each parent round becomes one round of its own federation on the parent's model; it sends the parent
 * the example-weighted aggregate with its signed receipt.
 */
@Command(name = "aggregator", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run an aggregator tier: serve a federation of your own clients (verify their signed updates,",
            "aggregate them with FedAvg) and take part in a parent federation as one client, sending each round's",
            "partial aggregate signed with your key, with the receipt of the updates folded in (docs/AGGREGATOR.md)."})
public final class AggregatorCommand implements Callable<Integer> {
    private static final Pattern ADDRESS = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([^:\\[\\]]+)):(\\d{1,5})");

    @Spec
    CommandSpec spec;

    @Option(names = "--federation-id", required = true,
            description = "This aggregator's own federation id (its clients' federation; must differ from the parent's).")
    String federationId;

    @Option(names = "--client-id", description = "This aggregator's client id at the parent (default: --federation-id).")
    String clientId;

    @Option(names = "--key", required = true, paramLabel = "FILE",
            description = "This aggregator's private key (.key): it signs its clients' tasks and models, and its partial "
                    + "aggregates; its public key is enrolled at the parent.")
    Path key;

    @Mixin
    PasswordOptions password;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Listen address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "50052", description = "gRPC port for this aggregator's clients; 0 picks a "
            + "free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data-dir", defaultValue = "pqfl-aggregator-data", paramLabel = "DIR",
            description = "This aggregator's own ledger, checkpoints and spool (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--trust-dir", paramLabel = "DIR", description = "Its clients' public keys, <client-id>.pub "
            + "(default: DATA-DIR/trust).")
    Path trustDir;

    @Option(names = "--rounds", required = true, description = "The parent's number of rounds (one own round each).")
    int rounds;

    @Option(names = "--min-clients", defaultValue = "2",
            description = "Live clients needed before an own round opens (default: ${DEFAULT-VALUE}).")
    int minClients;

    @Option(names = "--round-timeout", defaultValue = "10m", converter = DurationConverter.class,
            description = "Deadline of each own round (default: ${DEFAULT-VALUE}); keep it well inside the parent's.")
    Duration roundTimeout;

    @Option(names = "--model", defaultValue = "mlp",
            description = "The federation's model (its manifest must be the parent's): a built-in architecture "
                    + "(default: ${DEFAULT-VALUE}); ignored with --initial-model.")
    String model;

    @Option(names = "--initial-model", paramLabel = "FILE", description = "A model file of the parent's manifest.")
    Path initialModel;

    @Option(names = "--max-examples", defaultValue = "1000000",
            description = "Largest example count one client's update may claim (default: ${DEFAULT-VALUE}).")
    long maxExamples;

    @Mixin
    ServerTlsOptions tls;

    @Option(names = "--parent", required = true, paramLabel = "HOST:PORT", description = "The parent coordinator's address.")
    String parent;

    @Option(names = "--parent-key", required = true, paramLabel = "FILE",
            description = "The parent coordinator's public key (.pub), pinned: models it did not sign are refused.")
    Path parentKey;

    @Option(names = "--parent-tls-ca", paramLabel = "FILE",
            description = "The CA certificate that issued the parent's TLS certificate.")
    Path parentTlsCa;

    @Option(names = "--parent-plaintext", description = "Connect to the parent with unencrypted gRPC on purpose.")
    boolean parentPlaintext;

    @Option(names = "--state-file", paramLabel = "FILE",
            description = "Where the newest parent task and model rounds are remembered (default: DATA-DIR/parent-state.properties).")
    Path stateFile;

    @Option(names = "--poll", defaultValue = "20", description = "Seconds each task poll to the parent may wait (default: ${DEFAULT-VALUE}).")
    int pollSeconds;

    @Override
    public Integer call() throws Exception {
        tls.check();
        if (parentPlaintext == (parentTlsCa != null)) {
            throw new UsageException(parentPlaintext ? "--parent-plaintext conflicts with --parent-tls-ca"
                    : "no TLS configured towards the parent: give --parent-tls-ca, or --parent-plaintext on purpose");
        }
        Matcher address = ADDRESS.matcher(parent);
        int parentPort = address.matches() ? Integer.parseInt(address.group(3)) : 0;
        if (parentPort < 1 || parentPort > 65535) {
            throw new UsageException("--parent must be HOST:PORT or [IPv6]:PORT, got '" + parent + "'");
        }
        String parentHost = address.group(1) != null ? address.group(1) : address.group(2);
        SigningKey signingKey = KeyPem.readSigningKey(key, password.password());
        VerifyingKey pinnedParent = KeyPem.readVerifyingKey(parentKey);
        ClientId id;
        CoordinatorConfig cfg;
        try {
            id = new ClientId(clientId != null ? clientId : federationId);
            cfg = CoordinatorConfig.builder().federationId(federationId).dataDir(dataDir).trustDir(trustDir)
                    .acceptedSchemes(CoordinatorConfig.postQuantumSchemes()).rounds(rounds).minClients(minClients)
                    .roundTimeout(roundTimeout).strategy("fedavg")
                    .initialWeights(initialModel == null ? ModelCatalog.byId(model).initialWeights(1) : null)
                    .initialModel(initialModel).training(new TrainingConfig(1, 64, 0.001f, 0f, "adam"))
                    .maxExamplesPerUpdate(maxExamples).clientCertificates(tls.clientCa, tls.clientCrl)
                    .finalEvaluation(false).holdRounds(true).build();
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        NettyServerBuilder serverBuilder = NettyServerBuilder.forAddress(new InetSocketAddress(host, port));
        if (tls.enabled()) {
            serverBuilder.sslContext(tls.serverContext(signingKey, key, password));
        }
        NettyChannelBuilder channelBuilder = NettyChannelBuilder.forAddress(parentHost, parentPort).maxInboundMessageSize(8 << 20);
        if (parentTlsCa != null) {
            channelBuilder.sslContext(PqTls.client(Certificates.readAll(parentTlsCa), null, null, null,
                    KeyExchange.parse("hybrid")));
        } else {
            channelBuilder.usePlaintext();
        }
        ClientState remembered;
        try {
            remembered = ClientState.load(stateFile != null ? stateFile : dataDir.resolve("parent-state.properties"));
        } catch (java.io.IOException e) {
            throw new CliException(e.getMessage(), e);
        }
        Coordinator coordinator;
        try {
            coordinator = Coordinator.open(cfg, signingKey, TrustStore.open(cfg.trustDir()), new CoordinatorMetrics(),
                    Clock.systemUTC(), new SecureRandom());
        } catch (IllegalStateException | IllegalArgumentException | SQLException e) {
            throw new CliException(e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        Aggregator aggregator = new Aggregator(coordinator, signingKey, roundTimeout.multipliedBy(2).plusMinutes(1));
        ManagedChannel channel = channelBuilder.build();
        try (CoordinatorServer server = new CoordinatorServer(serverBuilder, coordinator).start().withShutdownHook()) {
            out.printf("pqfl aggregator %s: federation %s on %s:%d (%s), key %s (%s); parent %s as %s, pinned key %s%n",
                    id, federationId, host, server.port(), tls.enabled() ? tls.describe() : "plaintext", signingKey.keyId(),
                    signingKey.scheme(), parent, id, pinnedParent.keyId());
            out.flush();
            ClientAgent agent = new ClientAgent(channel, ClientAgent.Settings.builder(id, signingKey, pinnedParent)
                    .pollWait(Duration.ofSeconds(pollSeconds)).build(),
                    ClientAgent.Hooks.builder().rememberIn(remembered).attach(aggregator.attachment()).build(),
                    aggregator.trainer(), ClientAgent.Progress.NONE);
            Thread hook = new Thread(agent::stop, "pqfl-aggregator-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            ClientAgent.Summary s = agent.run();
            out.printf("%s: %d rounds aggregated, %d partial aggregates accepted by the parent, %d rejected%n",
                    s.finished() ? "Parent federation finished" : "Stopped", s.roundsTrained(), s.updatesAccepted(),
                    s.updatesRejected());
            out.flush();
            return s.finished() ? Cli.OK : Cli.FAILED;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
