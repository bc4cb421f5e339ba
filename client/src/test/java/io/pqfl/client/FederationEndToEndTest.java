package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.agent.ClientState;
import io.pqfl.client.data.Examples;
import io.pqfl.client.train.DjlModel;
import io.pqfl.client.train.DjlTrainer;
import io.pqfl.client.train.TaskKind;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.UpdateChunk;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A coordinator and client agents over real gRPC on 127.0.0.1, training on real Fashion-MNIST. */
class FederationEndToEndTest {
    @TempDir
    Path dir;


    private record Running(io.pqfl.coordinator.Coordinator coordinator, CoordinatorServer server, CoordinatorConfig config, TrustStore trust,
                               SigningKey key) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    private Running coordinator(int rounds, int minClients, Duration timeout) throws Exception {
        return coordinator(rounds, minClients, timeout, null);
    }

    private Running coordinator(int rounds, int minClients, Duration timeout, Path initialModel) throws Exception {
        return coordinator(rounds, minClients, timeout, initialModel, SigningPolicy.SIGNED);
    }

    private Running coordinator(int rounds, int minClients, Duration timeout, Path initialModel, SigningPolicy signing)
            throws Exception {
        SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
        CoordinatorConfig config = CoordinatorConfig.builder().federationId("e2e").dataDir(dir.resolve("data"))
                .initialWeights(initialModel == null ? ModelCatalog.MLP.initialWeights(1) : null).initialModel(initialModel).rounds(rounds).minClients(minClients).roundTimeout(timeout)
                .training(new TrainingConfig(1, 32, 1e-3f, 0f, "adam")).signingPolicy(signing).build();
        TrustStore trust = TrustStore.open(config.trustDir());
        io.pqfl.coordinator.Coordinator coordinator = io.pqfl.coordinator.Coordinator.open(config, key, trust,
                new CoordinatorMetrics(), Clock.systemUTC(), new SecureRandom());
        CoordinatorServer server = new CoordinatorServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                coordinator).start();
        return new Running(coordinator, server, config, trust, key);
    }

    /** The built-in MLP, trained by DJL on the CPU. */
    static DjlTrainer mlp(Examples train, Examples eval) throws Exception {
        return new DjlTrainer(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION, train, eval, Device.cpu());
    }

    private static ManagedChannel channel(Running c) {
        return NettyChannelBuilder.forAddress("127.0.0.1", c.server().port()).usePlaintext().maxInboundMessageSize(8 << 20).build();
    }

    @Test
    void threeClients_threeRounds_accuracyImproves_everyUpdateVerifies_ledgerVerifies() throws Exception {
        Examples train = FashionMnist.train();
        Examples test = FashionMnist.test().range(0, 2000);
        VerifyingKey coordinatorKey;
        try (Running c = coordinator(3, 3, Duration.ofMinutes(2))) {
            coordinatorKey = c.key().verifyingKey();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Future<ClientAgent.Summary>> results = new ArrayList<>();
            List<ManagedChannel> channels = new ArrayList<>();
            List<DjlTrainer> trainers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                SigningKey k = Keys.generate(SignatureScheme.ML_DSA_65);
                ClientId id = new ClientId("client-" + i);
                c.trust().add(id, k.verifyingKey());
                // Disjoint partitions: 1,500 examples each, the last 300 of which are held out.
                Examples mine = train.range(i * 1500, (i + 1) * 1500);
                ManagedChannel ch = channel(c);
                channels.add(ch);
                trainers.add(mlp(mine.range(0, 1200), mine.range(1200, 1500)));
                ClientAgent agent = new ClientAgent(ch, ClientAgent.Settings.builder(id, k, c.key().verifyingKey())
                        .device("cpu").pollWait(Duration.ofSeconds(5)).seed(i).build(), trainers.get(i),
                        ClientAgent.Progress.NONE);
                results.add(pool.submit(agent::run));
            }
            for (Future<ClientAgent.Summary> f : results) {
                ClientAgent.Summary s = f.get(5, TimeUnit.MINUTES);
                assertThat(s.finished()).isTrue();
                assertThat(s.updatesAccepted()).isEqualTo(3);
                assertThat(s.modelsRefused()).isZero();
            }
            pool.shutdown();
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
            trainers.forEach(DjlTrainer::close);
            double first;
            double last;
            try (DjlTrainer evaluator = DjlTrainer.evaluator(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION,
                    test, Device.cpu())) {
                var context = io.pqfl.trainer.TrainContext.of(0, TrainingConfig.defaults(), 0);
                first = evaluator.evaluate(ModelFiles.read(c.config().dataDirectory().checkpoint(1)).weights(), context)
                        .metric("accuracy", 0);
                last = evaluator.evaluate(ModelFiles.read(c.config().dataDirectory().checkpoint(3)).weights(), context)
                        .metric("accuracy", 0);
            }
            assertThat(first).isGreaterThan(0.4);
            assertThat(last).isGreaterThan(first);
            assertThat(c.coordinator().ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED)
                    .hasSize(9).allSatisfy(e -> assertThat(e.scheme()).isEqualTo("ML-DSA-65"));
            // After the last round every client evaluated the final model on its 300 held-out examples and signed it;
            // the coordinator's example-weighted aggregate is the mean of what the clients' trainers measure.
            assertThat(c.coordinator().ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_ACCEPTED)
                    .hasSize(3).allSatisfy(e -> assertThat(e.scheme()).isEqualTo("ML-DSA-65"));
            var federated = c.coordinator().rounds()
                    .lastEvaluation(io.pqfl.coordinator.evaluate.EvaluationSummary.Source.FEDERATED).orElseThrow();
            assertThat(federated.round()).isEqualTo(3);
            assertThat(federated.clients()).isEqualTo(3);
            assertThat(federated.examples()).isEqualTo(900);
            ModelWeights finalModel = ModelFiles.read(c.config().dataDirectory().checkpoint(3)).weights();
            double expected = 0;
            for (int i = 0; i < 3; i++) {
                Examples heldOut = train.range(i * 1500 + 1200, (i + 1) * 1500);
                try (DjlTrainer t = DjlTrainer.evaluator(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION,
                        heldOut, Device.cpu())) {
                    expected += t.evaluate(finalModel, io.pqfl.trainer.TrainContext.of(3, TrainingConfig.defaults(), 0))
                            .metric("accuracy", 0) / 3;
                }
            }
            assertThat(federated.metrics().get("accuracy")).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
        }
        // What `pqfl ledger verify --coordinator-key` checks, after the coordinator stopped.
        DataDirectory data = DataDirectory.of(dir.resolve("data"));
        try (Database db = Database.open(data.jdbcUrl())) {
            LedgerVerifier.Report report = LedgerVerifier.verify(db, coordinatorKey, data.checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
            assertThat(report.acceptedUpdates()).isEqualTo(9);
        }
    }

    /** A man in the middle on the client's channel, rewriting task chunks. */
    private static Channel tampering(ManagedChannel channel, UnaryOperator<TaskChunk> rewrite) {
        return ClientInterceptors.intercept(channel, new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<R> listener, Metadata headers) {
                        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                            @Override
                            @SuppressWarnings("unchecked")
                            public void onMessage(R message) {
                                super.onMessage(message instanceof TaskChunk t ? (R) rewrite.apply(t) : message);
                            }
                        }, headers);
                    }
                };
            }
        });
    }

    private ClientAgent.Summary runAgainst(Running c, UnaryOperator<TaskChunk> rewrite, VerifyingKey pinned) throws Exception {
        return runAgainst(c, rewrite, pinned, ClientState.inMemory());
    }

    private ClientAgent.Summary runAgainst(Running c, UnaryOperator<TaskChunk> rewrite, VerifyingKey pinned,
                                           ClientState state) throws Exception {
        SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
        c.trust().add(new ClientId("victim"), k.verifyingKey());
        ManagedChannel ch = channel(c);
        try (DjlTrainer trainer = mlp(FashionMnist.train().range(0, 500), null)) {
            ClientAgent agent = new ClientAgent(tampering(ch, rewrite), ClientAgent.Settings.builder(new ClientId("victim"), k, pinned)
                    .device("cpu").pollWait(Duration.ofSeconds(5)).maxConsecutiveRefusals(1).build(),
                    ClientAgent.Hooks.builder().rememberIn(state).build(), trainer, ClientAgent.Progress.NONE);
            return agent.run();
        } finally {
            ch.shutdownNow();
        }
    }

    private void assertRefusedWithoutTraining(Running c, ClientAgent.Summary s) throws Exception {
        assertThat(s.modelsRefused()).isEqualTo(1);
        assertThat(s.roundsTrained()).isZero();
        assertThat(s.finished()).isFalse();
        assertThat(c.coordinator().ledger().entries()).noneMatch(e -> "victim".equals(e.clientId()));
    }

    @Test
    void refusesAModelWhoseBytesWereAltered() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            ClientAgent.Summary s = runAgainst(c, t -> {
                if (!t.hasModelChunk()) {
                    return t;
                }
                byte[] b = t.getModelChunk().toByteArray();
                b[b.length / 2] ^= 0x10;
                return TaskChunk.newBuilder().setModelChunk(com.google.protobuf.ByteString.copyFrom(b)).build();
            }, cKey(c));
            assertRefusedWithoutTraining(c, s);
        }
    }

    private static VerifyingKey cKey(Running c) {
        return c.key().verifyingKey();
    }

    @Test
    void refusesAModelWhoseSignatureWasAltered() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            ClientAgent.Summary s = runAgainst(c, t -> {
                if (!t.hasModelSignature()) {
                    return t;
                }
                byte[] sig = t.getModelSignature().getSignature().toByteArray();
                sig[100] ^= 0x01;
                return TaskChunk.newBuilder().setModelSignature(t.getModelSignature().toBuilder()
                        .setSignature(com.google.protobuf.ByteString.copyFrom(sig))).build();
            }, cKey(c));
            assertRefusedWithoutTraining(c, s);
        }
    }

    /** Rewrites the task header, as an on-path attacker would. */
    private static UnaryOperator<TaskChunk> header(UnaryOperator<io.pqfl.proto.v1.TaskHeader> rewrite) {
        return t -> t.hasHeader() ? TaskChunk.newBuilder().setHeader(rewrite.apply(t.getHeader())).build() : t;
    }

    @Test
    void refusesATaskWhoseTrainingConfigurationWasAltered() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            assertRefusedWithoutTraining(c, runAgainst(c, header(h -> h.toBuilder().setConfig(h.getConfig().toBuilder()
                    .setLocalEpochs(1_000_000).setLearningRate(1000f)).build()), cKey(c)));
        }
    }

    @Test
    void refusesAnUnsignedTask() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            assertRefusedWithoutTraining(c, runAgainst(c, header(h -> h.toBuilder().clearSignature().build()), cKey(c)));
        }
    }

    @Test
    void refusesAModelOlderThanOneItAlreadyTrainedOn_evenAfterARestart() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            // An earlier life of this client accepted round 7's task with the round 5 model; the state file says so.
            Path file = dir.resolve("client-state.properties");
            ClientState.load(file).accepted("e2e", c.key().keyId(), 7, 5);
            assertRefusedWithoutTraining(c, runAgainst(c, UnaryOperator.identity(), cKey(c), ClientState.load(file)));
        }
    }

    @Test
    void refusesAModelItCannotTrain_andStopsCleanly() throws Exception {
        Path mystery = dir.resolve("mystery.pqfl");
        ModelFiles.write(mystery, io.pqfl.protocol.ModelWeights.zeros(new io.pqfl.protocol.ModelManifest("mystery-net",
                List.of(io.pqfl.protocol.TensorSpec.of("w", 4, 4)))), null);
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30), mystery)) {
            assertRefusedWithoutTraining(c, runAgainst(c, UnaryOperator.identity(), cKey(c)));
        }
    }

    /** What an agent put on the wire in its update streams: the headers and the trailers' signatures. */
    private record Sent(List<io.pqfl.proto.v1.UpdateHeader> headers, List<com.google.protobuf.ByteString> signatures) {
        Sent() {
            this(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        }

        Channel watching(ManagedChannel channel) {
            return ClientInterceptors.intercept(channel, new ClientInterceptor() {
                @Override
                public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                        @Override
                        public void sendMessage(Q message) {
                            if (message instanceof UpdateChunk u && u.hasHeader()) {
                                headers.add(u.getHeader());
                            } else if (message instanceof UpdateChunk u && u.hasTrailer()) {
                                signatures.add(u.getTrailer().getSignature());
                            }
                            super.sendMessage(message);
                        }
                    };
                }
            });
        }
    }

    /** One agent with {@code signing} delivers one update to {@code c} (1 round, 1 client); stops after it. */
    private ClientAgent.RoundReport deliverOne(Running c, SigningPolicy signing, Sent sent) throws Exception {
        SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
        c.trust().add(new ClientId("solo"), k.verifyingKey());
        ManagedChannel ch = channel(c);
        List<ClientAgent.RoundReport> reports = new CopyOnWriteArrayList<>();
        AtomicReference<ClientAgent> agent = new AtomicReference<>();
        try (DjlTrainer trainer = mlp(FashionMnist.train().range(0, 300), FashionMnist.train().range(300, 400))) {
            agent.set(new ClientAgent(sent.watching(ch), ClientAgent.Settings.builder(new ClientId("solo"), k, cKey(c))
                    .device("cpu").pollWait(Duration.ofSeconds(5)).signing(signing).build(),
                    ClientAgent.Hooks.builder().observe(r -> {
                        reports.add(r);
                        agent.get().stop(); // one delivery is the test: a refused update would wait out the round
                    }).build(), trainer, ClientAgent.Progress.NONE));
            agent.get().run();
        } finally {
            ch.shutdownNow();
        }
        assertThat(reports).hasSize(1);
        assertThat(sent.headers()).hasSize(1);
        // No trailer count here: an update refused on its header may be cut off before its trailer is sent.
        return reports.get(0);
    }

    @Test
    void unsignedBaseline_announcesNoKeyOrScheme_sendsNoSignature_andItsCoordinatorAcceptsTheUpdate() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30), null, SigningPolicy.UNSIGNED_BASELINE)) {
            Sent sent = new Sent();
            ClientAgent.RoundReport r = deliverOne(c, SigningPolicy.UNSIGNED_BASELINE, sent);
            assertThat(r.accepted()).as(r.reason()).isTrue();
            assertThat(r.signatureBytes()).isZero();
            assertThat(sent.headers().get(0).getKeyId()).isEmpty();
            assertThat(sent.headers().get(0).getScheme()).isEmpty();
            assertThat(sent.signatures()).singleElement().satisfies(sig -> assertThat(sig.isEmpty()).isTrue());
            // The trainer's metrics travel in full, and the well-known ones in their fixed fields too.
            var metrics = sent.headers().get(0).getMetrics();
            assertThat(metrics.getMetricsMap()).containsKeys("loss", "eval_loss", "eval_accuracy", "train_millis")
                    .containsEntry("eval_examples", 100.0);
            assertThat(metrics.getTrainLoss()).isEqualTo(metrics.getMetricsMap().get("loss")).isPositive();
            assertThat(metrics.getEvalAccuracy()).isEqualTo(metrics.getMetricsMap().get("eval_accuracy")).isPositive();
            assertThat(metrics.getEvalExamples()).isEqualTo(100);
            assertThat(r.evalAccuracy()).isEqualTo(metrics.getEvalAccuracy());
            // The coordinator knows whose key it was from the session.
            assertThat(c.coordinator().ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED)
                    .singleElement().satisfies(e -> assertThat(e.scheme()).isEqualTo("ML-DSA-44"));
        }
    }

    @Test
    void unsignedClient_isRefusedByASigningCoordinator() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30), null, SigningPolicy.SIGNED)) {
            ClientAgent.RoundReport r = deliverOne(c, SigningPolicy.UNSIGNED_BASELINE, new Sent());
            assertThat(r.accepted()).isFalse();
            assertThat(r.reason()).isEqualTo("BAD_SIGNATURE");
        }
    }

    @Test
    void signingClient_isRefusedByTheUnsignedBaselinesCoordinator() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30), null, SigningPolicy.UNSIGNED_BASELINE)) {
            Sent sent = new Sent();
            ClientAgent.RoundReport r = deliverOne(c, SigningPolicy.SIGNED, sent);
            assertThat(sent.headers().get(0).getScheme()).isEqualTo("ML-DSA-44");
            assertThat(r.accepted()).isFalse();
            assertThat(r.reason()).isEqualTo("SCHEME_NOT_ACCEPTED");
        }
    }

    @Test
    void refusesAModelFromAnotherSigner() throws Exception {
        try (Running c = coordinator(1, 1, Duration.ofSeconds(30))) {
            VerifyingKey somebodyElse = Keys.generate(SignatureScheme.ML_DSA_65).verifyingKey();
            assertRefusedWithoutTraining(c, runAgainst(c, UnaryOperator.identity(), somebodyElse));
        }
    }
}
