package io.pqfl.app.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.app.Cli;
import io.pqfl.app.coordinator.LedgerCommand;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.crypto.KeyPem;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two tiers over real sockets (loopback gRPC): a root coordinator, two aggregators (each a coordinator to three
 * clients and a client to the root) and six clients. After two rounds the root's model equals flat FedAvg, a single
 * coordinator with the same six clients' updates, and the root's ledger records each aggregator's partial aggregate
 * with the head of the aggregator's own ledger, whose MODEL_PUBLISHED entry is there with the same receipt.
 */
class AggregatorTierTest {
    static final ModelManifest MODEL = new ModelManifest("tier-test", List.of(TensorSpec.of("w", 2, 3), TensorSpec.of("b", 3)));
    static final int ROUNDS = 2;
    /** The rounds of the coordinators {@link #node} opens. */
    private static final ThreadLocal<Integer> ROUNDS_OVERRIDE = ThreadLocal.withInitial(() -> ROUNDS);

    @TempDir
    Path dir;

    /** Deterministic training: w' = w/2 + (i+1)/10 + round/100 + j/1000 per value j; 100(i+1) examples. */
    record DeterministicTrainer(int index) implements Trainer {
        @Override
        public ModelManifest manifest() {
            return MODEL;
        }

        @Override
        public FitResult fit(ModelWeights global, TrainContext context) {
            float[][] out = new float[2][];
            for (int t = 0; t < 2; t++) {
                float[] g = global.tensor(t);
                out[t] = new float[g.length];
                for (int j = 0; j < g.length; j++) {
                    out[t][j] = g[j] / 2 + (index + 1) / 10f + context.round() / 100f + j / 1000f * (index - 2);
                }
            }
            return new FitResult(ModelWeights.of(MODEL, out), 100L * (index + 1), Map.of());
        }

        @Override
        public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
            return new EvaluateResult(0, 0, Map.of());
        }
    }

    record Node(Coordinator coordinator, CoordinatorServer server, TrustStore trust, SigningKey key) implements AutoCloseable {
        ManagedChannel channel() {
            return NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    private Node node(String federation, int minClients, boolean hold, Path receiptTrust, SigningKey key) throws Exception {
        CoordinatorConfig.Builder b = CoordinatorConfig.builder().federationId(federation).dataDir(dir.resolve(federation))
                .initialWeights(ModelWeights.zeros(MODEL)).rounds(ROUNDS_OVERRIDE.get()).minClients(minClients)
                .roundTimeout(Duration.ofSeconds(60)).finalEvaluation(false).callRateLimit(1_000, 1_000)
                .training(new TrainingConfig(1, 16, 0.1f, 0f, "sgd")).holdRounds(hold);
        if (receiptTrust != null) {
            b.receiptTrustDir(receiptTrust);
        }
        CoordinatorConfig config = b.build();
        TrustStore trust = TrustStore.open(config.trustDir());
        Coordinator c = Coordinator.open(config, key, trust, new CoordinatorMetrics(), Clock.systemUTC(), new SecureRandom());
        CoordinatorServer server = new CoordinatorServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                c).start();
        return new Node(c, server, trust, key);
    }

    private static ClientAgent agent(Node to, ManagedChannel ch, String name, SigningKey k, Trainer trainer,
                                     ClientAgent.Hooks hooks) throws Exception {
        to.trust().add(new ClientId(name), k.verifyingKey());
        return new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId(name), k, to.key().verifyingKey())
                .pollWait(Duration.ofSeconds(2)).maxConsecutiveRefusals(1).build(), hooks, trainer, ClientAgent.Progress.NONE);
    }

    @Test
    void twoTiers_giveFlatFedAvg_andTheRootLedgerLinksToTheAggregatorsLedgers() throws Exception {
        List<SigningKey> clientKeys = new ArrayList<>();
        Path receiptTrust = dir.resolve("receipt-trust");
        TrustStore children = TrustStore.open(receiptTrust);
        for (int i = 0; i < 6; i++) {
            SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
            clientKeys.add(k);
            children.add(new ClientId("client-" + i), k.verifyingKey());
        }
        ExecutorService pool = Executors.newCachedThreadPool();
        List<ManagedChannel> channels = new ArrayList<>();
        ModelWeights tiered;
        ModelWeights flat;
        SigningKey rootKey = Keys.generate(SignatureScheme.ML_DSA_65);
        try (Node root = node("root", 2, false, receiptTrust, rootKey);
             Node aggA = node("agg-a", 3, true, null, Keys.generate(SignatureScheme.ML_DSA_65));
             Node aggB = node("agg-b", 3, true, null, Keys.generate(SignatureScheme.ML_DSA_65))) {
            List<Future<ClientAgent.Summary>> agents = new ArrayList<>();
            for (Node agg : List.of(aggA, aggB)) {
                String id = agg.coordinator().config().federationId();
                Aggregator aggregator = new Aggregator(agg.coordinator(), agg.key(), Duration.ofSeconds(90));
                ManagedChannel up = root.channel();
                channels.add(up);
                agents.add(pool.submit(agent(root, up, id, agg.key(), aggregator.trainer(),
                        ClientAgent.Hooks.builder().attach(aggregator.attachment()).build())::run));
            }
            for (int i = 0; i < 6; i++) {
                Node agg = i < 3 ? aggA : aggB;
                ManagedChannel ch = agg.channel();
                channels.add(ch);
                agents.add(pool.submit(agent(agg, ch, "client-" + i, clientKeys.get(i), new DeterministicTrainer(i),
                        ClientAgent.Hooks.none())::run));
            }
            for (int i = 0; i < 2; i++) {
                ClientAgent.Summary s = agents.get(i).get(3, TimeUnit.MINUTES);
                assertThat(s.updatesAccepted()).as("aggregator %d", i).isEqualTo(ROUNDS);
                assertThat(s.finished()).isTrue();
            }
            for (int i = 2; i < agents.size(); i++) {
                assertThat(agents.get(i).get(1, TimeUnit.MINUTES).updatesAccepted()).isEqualTo(ROUNDS);
            }
            tiered = ModelFiles.read(root.coordinator().config().dataDirectory().checkpoint(ROUNDS)).weights();

            // The root recorded each aggregator's partial aggregate with its ledger head, and each head is the
            // aggregator's MODEL_PUBLISHED entry of its round, whose signed receipt is the partial's.
            List<LedgerEntry> partials = root.coordinator().ledger().entries().stream()
                    .filter(e -> e.kind() == LedgerEntry.Kind.PARTIAL_AGGREGATE).toList();
            assertThat(partials).hasSize(2 * ROUNDS);
            for (LedgerEntry e : partials) {
                PartialAggregateStatement s = PartialAggregateStatement.decode(e.statement());
                Node agg = e.clientId().equals("agg-a") ? aggA : aggB;
                assertThat(s.partial().receipt()).hasSize(3);
                assertThat(s.update().numExamples()).isEqualTo(e.clientId().equals("agg-a") ? 600 : 1500);
                String head = s.partial().aggregatorLedgerHead().hex();
                LedgerEntry published = agg.coordinator().ledger().entries().stream()
                        .filter(x -> HexFormat.of().formatHex(x.entryHash()).equals(head)).findFirst().orElseThrow();
                assertThat(published.kind()).isEqualTo(LedgerEntry.Kind.MODEL_PUBLISHED);
                assertThat(published.round()).isEqualTo(s.partial().childRound());
                assertThat(published.payloadDigest()).isEqualTo(s.update().updateDigest().bytes());
            }
            for (Node n : List.of(root, aggA, aggB)) {
                LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(n.coordinator().config().effectiveJdbcUrl()));
                assertThat(report.problem()).as(n.coordinator().config().federationId()).isNull();
            }
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
        }

        // Flat FedAvg: one coordinator, the same six clients.
        try (Node single = node("flat", 6, false, null, Keys.generate(SignatureScheme.ML_DSA_65))) {
            List<Future<ClientAgent.Summary>> agents = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ManagedChannel ch = single.channel();
                channels.add(ch);
                agents.add(pool.submit(agent(single, ch, "client-" + i, clientKeys.get(i), new DeterministicTrainer(i),
                        ClientAgent.Hooks.none())::run));
            }
            for (Future<ClientAgent.Summary> f : agents) {
                assertThat(f.get(2, TimeUnit.MINUTES).updatesAccepted()).isEqualTo(ROUNDS);
            }
            flat = ModelFiles.read(single.coordinator().config().dataDirectory().checkpoint(ROUNDS)).weights();
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            pool.shutdownNow();
        }
        for (int t = 0; t < 2; t++) {
            for (int j = 0; j < flat.tensor(t).length; j++) {
                assertThat(tiered.tensor(t)[j]).as("tensor %d value %d", t, j).isCloseTo(flat.tensor(t)[j], within(1e-5f));
            }
        }
        assertThat(flat.tensor(0)[0]).isNotZero();

        // pqfl ledger verify follows the root's partial aggregates into the aggregators' ledgers.
        KeyPem.writeVerifyingKey(rootKey.verifyingKey(), dir.resolve("root.pub"));
        String root = dir.resolve("root").toString();
        String pub = dir.resolve("root.pub").toString();
        Run ok = cli("verify", root, "--coordinator-key", pub, "--aggregator", "agg-a=" + dir.resolve("agg-a"),
                "--aggregator", "agg-b=" + dir.resolve("agg-b"));
        assertThat(ok.exit()).as(ok.err()).isEqualTo(Cli.OK);
        assertThat(ok.out()).contains("4 partial aggregates followed into their aggregators' ledgers");
        Run one = cli("verify", root, "--coordinator-key", pub, "--aggregator", "agg-a=" + dir.resolve("agg-a"));
        assertThat(one.exit()).isEqualTo(Cli.OK);
        assertThat(one.out()).contains("2 partial aggregates followed").contains("partial aggregates of agg-b not followed");
        // Another aggregator's ledger under agg-a's name: it is not signed with agg-a's key.
        Run swapped = cli("verify", root, "--coordinator-key", pub, "--aggregator", "agg-a=" + dir.resolve("agg-b"));
        assertThat(swapped.exit()).isEqualTo(Cli.FAILED);
        assertThat(swapped.err()).contains("the ledger of aggregator agg-a does not verify with its key");
    }

    @Test
    void pqflAggregator_isOneTierBetweenARootAndItsClients() throws Exception {
        SigningKey aggKey = Keys.generate(SignatureScheme.ML_DSA_65);
        SigningKey rootKey = Keys.generate(SignatureScheme.ML_DSA_65);
        KeyPem.writeKeyPair(aggKey, dir.resolve("agg.key"), dir.resolve("agg.pub"), null);
        KeyPem.writeVerifyingKey(rootKey.verifyingKey(), dir.resolve("root.pub"));
        ModelFiles.write(dir.resolve("initial.pqfl"), ModelWeights.zeros(MODEL), null);
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        // Without a transport chosen towards the parent, the command refuses to start (exit 2).
        assertThat(Cli.commandLine(new io.pqfl.app.coordinator.AggregatorCommand()).execute("--federation-id", "agg-x",
                "--key", dir.resolve("agg.key").toString(), "--rounds", "1", "--plaintext", "--parent", "127.0.0.1:1",
                "--parent-key", dir.resolve("root.pub").toString())).isEqualTo(Cli.USAGE);
        ExecutorService pool = Executors.newCachedThreadPool();
        List<ManagedChannel> channels = new ArrayList<>();
        ROUNDS_OVERRIDE.set(1);
        try (Node root = node("root", 1, false, null, rootKey)) {
            root.trust().add(new ClientId("agg-x"), aggKey.verifyingKey());
            // The aggregator's clients are enrolled in its trust directory before it starts.
            TrustStore childTrust = TrustStore.open(dir.resolve("agg-x").resolve("trust"));
            List<SigningKey> childKeys = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                childKeys.add(Keys.generate(SignatureScheme.ML_DSA_44));
                childTrust.add(new ClientId("client-" + i), childKeys.get(i).verifyingKey());
            }
            java.io.StringWriter out = new java.io.StringWriter();
            picocli.CommandLine cmd = Cli.commandLine(new io.pqfl.app.coordinator.AggregatorCommand());
            cmd.setOut(new java.io.PrintWriter(out, true));
            Future<Integer> aggregator = pool.submit(() -> cmd.execute("--federation-id", "agg-x", "--key",
                    dir.resolve("agg.key").toString(), "--data-dir", dir.resolve("agg-x").toString(), "--rounds", "1",
                    "--min-clients", "2", "--round-timeout", "60s", "--initial-model", dir.resolve("initial.pqfl").toString(),
                    "--host", "127.0.0.1", "--port", Integer.toString(port), "--plaintext", "--parent",
                    "127.0.0.1:" + root.server().port(), "--parent-plaintext", "--parent-key",
                    dir.resolve("root.pub").toString(), "--poll", "2"));
            List<Future<ClientAgent.Summary>> clients = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                SigningKey k = childKeys.get(i);
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
                channels.add(ch);
                clients.add(pool.submit(new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId("client-" + i), k,
                        aggKey.verifyingKey()).pollWait(Duration.ofSeconds(2)).build(), ClientAgent.Hooks.none(),
                        new DeterministicTrainer(i), ClientAgent.Progress.NONE)::run));
            }
            assertThat(aggregator.get(2, TimeUnit.MINUTES)).as(out.toString()).isEqualTo(Cli.OK);
            assertThat(out.toString()).contains("1 partial aggregates accepted by the parent");
            for (Future<ClientAgent.Summary> c : clients) {
                assertThat(c.get(1, TimeUnit.MINUTES).updatesAccepted()).isEqualTo(1);
            }
            assertThat(root.coordinator().ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.PARTIAL_AGGREGATE)
                    .singleElement().satisfies(e -> assertThat(e.clientId()).isEqualTo("agg-x"));
        } finally {
            ROUNDS_OVERRIDE.remove();
            channels.forEach(ManagedChannel::shutdownNow);
            pool.shutdownNow();
        }
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run cli(String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cmd = Cli.commandLine(new LedgerCommand());
        cmd.setOut(new java.io.PrintWriter(out, true));
        cmd.setErr(new java.io.PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }
}
