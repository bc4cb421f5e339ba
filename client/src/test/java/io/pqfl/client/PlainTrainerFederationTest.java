package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent trains through any {@link Trainer}: here logistic regression on plain Java arrays, no DJL anywhere,
 * federated by the real coordinator over loopback gRPC with signed updates. Also: a trainer for another model is
 * refused before it trains, and a failing trainer is reported, never sent.
 */
class PlainTrainerFederationTest {
    static final int FEATURES = 4;
    static final ModelManifest LOGISTIC = new ModelManifest("logistic-4",
            List.of(TensorSpec.of("w", 1, FEATURES), TensorSpec.of("b", 1)));
    /** The relation the clients' data follows: label 1 when 2x0 - 3x1 + x2 + 0.5 > 0 (x3 is noise). */
    static final double[] TRUE_W = {2, -3, 1, 0};
    static final double TRUE_B = 0.5;

    @TempDir
    Path dir;

    /** Binary examples of the relation above, in plain arrays. */
    record Data(float[][] x, int[] y) {
        static Data sample(int n, long seed) {
            Random r = new Random(seed);
            float[][] x = new float[n][FEATURES];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                double z = TRUE_B;
                for (int j = 0; j < FEATURES; j++) {
                    x[i][j] = (float) r.nextGaussian();
                    z += TRUE_W[j] * x[i][j];
                }
                y[i] = z > 0 ? 1 : 0;
            }
            return new Data(x, y);
        }
    }

    /** Logistic regression by minibatch SGD; what a user writes against the SPI alone. */
    static class LogisticTrainer implements Trainer {
        private final Data train;
        private final Data eval;

        LogisticTrainer(Data train, Data eval) {
            this.train = train;
            this.eval = eval;
        }

        @Override
        public ModelManifest manifest() {
            return LOGISTIC;
        }

        @Override
        public FitResult fit(ModelWeights global, TrainContext context) {
            float[] w = global.tensor(0).clone();
            float[] b = global.tensor(1).clone();
            TrainingConfig cfg = context.config();
            Random random = new Random(context.seed());
            int n = train.y().length;
            double lossSum = 0;
            for (int epoch = 0; epoch < cfg.localEpochs(); epoch++) {
                lossSum = 0;
                for (int step = 0; step < n; step += cfg.batchSize()) {
                    float[] gw = new float[FEATURES];
                    float gb = 0;
                    int m = Math.min(cfg.batchSize(), n - step);
                    for (int k = 0; k < m; k++) {
                        int i = random.nextInt(n);
                        double p = predict(w, b, train.x()[i]);
                        lossSum += logLoss(p, train.y()[i]) / n;
                        float err = (float) (p - train.y()[i]);
                        for (int j = 0; j < FEATURES; j++) {
                            gw[j] += err * train.x()[i][j] / m;
                        }
                        gb += err / m;
                    }
                    for (int j = 0; j < FEATURES; j++) {
                        w[j] -= cfg.learningRate() * gw[j];
                    }
                    b[0] -= cfg.learningRate() * gb;
                    context.progress().examplesDone((long) epoch * n + step + m, (long) cfg.localEpochs() * n);
                }
            }
            EvaluateResult held = measure(w, b, eval);
            return new FitResult(ModelWeights.of(LOGISTIC, new float[][] {w, b}), n, Map.of(Metrics.LOSS, lossSum,
                    Metrics.EVAL_LOSS, held.loss(), Metrics.EVAL_ACCURACY, held.metric(Metrics.ACCURACY, 0),
                    Metrics.EVAL_EXAMPLES, (double) held.examples()));
        }

        @Override
        public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
            return measure(model.tensor(0), model.tensor(1), eval);
        }

        static EvaluateResult measure(float[] w, float[] b, Data data) {
            double loss = 0;
            int correct = 0;
            for (int i = 0; i < data.y().length; i++) {
                double p = predict(w, b, data.x()[i]);
                loss += logLoss(p, data.y()[i]);
                correct += (p > 0.5 ? 1 : 0) == data.y()[i] ? 1 : 0;
            }
            int n = data.y().length;
            return new EvaluateResult(loss / n, n, Map.of(Metrics.ACCURACY, (double) correct / n));
        }

        static double predict(float[] w, float[] b, float[] x) {
            double z = b[0];
            for (int j = 0; j < FEATURES; j++) {
                z += w[j] * x[j];
            }
            return 1 / (1 + Math.exp(-z));
        }

        static double logLoss(double p, int y) {
            double q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
            return y == 1 ? -Math.log(q) : -Math.log(1 - q);
        }
    }

    private record Running(Coordinator coordinator, CoordinatorServer server, TrustStore trust, SigningKey key,
                           CoordinatorConfig config) implements AutoCloseable {
        ManagedChannel channel() {
            return NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    private Running coordinator(int rounds, int clients) throws Exception {
        return coordinator(rounds, clients, dir.resolve("data"));
    }

    private Running coordinator(int rounds, int clients, Path data) throws Exception {
        return coordinator(rounds, clients, data, Duration.ofSeconds(30));
    }

    private Running coordinator(int rounds, int clients, Path data, Duration evaluationTimeout) throws Exception {
        return coordinator(rounds, clients, data, evaluationTimeout, new CoordinatorMetrics(), b -> { });
    }

    private Running coordinator(int rounds, int clients, Path data, Duration evaluationTimeout, CoordinatorMetrics metrics,
                                java.util.function.Consumer<CoordinatorConfig.Builder> tweak) throws Exception {
        SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
        CoordinatorConfig.Builder b = CoordinatorConfig.builder().federationId("plain").dataDir(data)
                .initialWeights(ModelWeights.zeros(LOGISTIC)).rounds(rounds).minClients(clients)
                .roundTimeout(Duration.ofSeconds(30)).evaluationTimeout(evaluationTimeout)
                .training(new TrainingConfig(2, 16, 0.5f, 0f, "sgd"));
        tweak.accept(b);
        CoordinatorConfig config = b.build();
        TrustStore trust = TrustStore.open(config.trustDir());
        Coordinator coordinator = Coordinator.open(config, key, trust, metrics, Clock.systemUTC(), new SecureRandom());
        CoordinatorServer server = new CoordinatorServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                coordinator).start();
        return new Running(coordinator, server, trust, key, config);
    }

    private ClientAgent agent(Running c, ManagedChannel ch, String name, Trainer trainer, ClientAgent.Hooks hooks)
            throws Exception {
        SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
        c.trust().add(new ClientId(name), k.verifyingKey());
        return new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId(name), k, c.key().verifyingKey())
                .pollWait(Duration.ofSeconds(5)).maxConsecutiveRefusals(1).build(), hooks, trainer, ClientAgent.Progress.NONE);
    }

    @Test
    void aTrainerOnPlainArrays_isFederatedWithSignedUpdates_andTheGlobalModelLearns() throws Exception {
        Data test = Data.sample(1000, 99);
        try (Running c = coordinator(3, 2)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<ManagedChannel> channels = new ArrayList<>();
            List<Future<ClientAgent.Summary>> results = new ArrayList<>();
            List<ClientAgent.RoundReport> reports = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 2; i++) {
                ManagedChannel ch = c.channel();
                channels.add(ch);
                Trainer trainer = new LogisticTrainer(Data.sample(400, i), Data.sample(100, 10 + i));
                results.add(pool.submit(agent(c, ch, "plain-" + i, trainer,
                        ClientAgent.Hooks.builder().observe(reports::add).build())::run));
            }
            for (Future<ClientAgent.Summary> f : results) {
                ClientAgent.Summary s = f.get(2, TimeUnit.MINUTES);
                assertThat(s.finished()).isTrue();
                assertThat(s.updatesAccepted()).isEqualTo(3);
                assertThat(s.trainingFailures()).isZero();
            }
            pool.shutdown();
            channels.forEach(ManagedChannel::shutdownNow);
            assertThat(c.coordinator().ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED)
                    .hasSize(6).allSatisfy(e -> assertThat(e.scheme()).isEqualTo("ML-DSA-44"));
            assertThat(reports).hasSize(6).allSatisfy(r -> assertThat(r.evalAccuracy()).isGreaterThan(0.8));
            ModelWeights last = ModelFiles.read(c.config().dataDirectory().checkpoint(3)).weights();
            EvaluateResult global = LogisticTrainer.measure(last.tensor(0), last.tensor(1), test);
            EvaluateResult initial = LogisticTrainer.measure(new float[FEATURES], new float[1], test);
            assertThat(global.loss()).isLessThan(initial.loss() / 2);
            assertThat(global.metric(Metrics.ACCURACY, 0)).isGreaterThan(0.9);
        }
    }

    /**
     * With federated evaluation after every round, a client evaluates round r's model and is then asked to train from
     * it in round r + 1: it names the model it holds, and the coordinator sends that task without the model's bytes.
     * The updates trained from the held copies are accepted (their base model is the coordinator's). With a cache of
     * no models, every task carries its model.
     */
    @Test
    void aClientThatEvaluatedAModel_trainsTheNextRoundFromItsHeldCopy_withoutDownloadingItAgain() throws Exception {
        for (int held : new int[] {1, 0}) {
            CoordinatorMetrics metrics = new CoordinatorMetrics();
            try (Running c = coordinator(3, 2, dir.resolve("held-" + held), Duration.ofSeconds(30), metrics,
                    b -> b.evaluateEvery(1).evaluateFraction(1.0))) {
                ExecutorService pool = Executors.newFixedThreadPool(2);
                List<ManagedChannel> channels = new ArrayList<>();
                List<Future<ClientAgent.Summary>> results = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    ManagedChannel ch = c.channel();
                    channels.add(ch);
                    Trainer trainer = new LogisticTrainer(Data.sample(200, i), Data.sample(50, 10 + i));
                    results.add(pool.submit(agent(c, ch, "holder-" + i, trainer, ClientAgent.Hooks.builder()
                            .modelCache(io.pqfl.client.agent.ModelCache.holding(held)).build())::run));
                }
                for (Future<ClientAgent.Summary> f : results) {
                    ClientAgent.Summary s = f.get(2, TimeUnit.MINUTES);
                    assertThat(s.finished()).isTrue();
                    assertThat(s.updatesAccepted()).isEqualTo(3);
                }
                pool.shutdown();
                channels.forEach(ManagedChannel::shutdownNow);
                double heldTasks = metrics.registry().find("pqfl.tasks").tag("model", "held").counters().stream()
                        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
                double sentTasks = metrics.registry().get("pqfl.tasks").tag("model", "sent").counter().count();
                if (held == 1) {
                    // Rounds 2 and 3 of both clients: trained from the model each had just evaluated.
                    assertThat(heldTasks).isEqualTo(4.0);
                    assertThat(sentTasks).isEqualTo(8.0); // round 1's training, and each round's evaluation
                } else {
                    assertThat(heldTasks).isZero();
                    assertThat(sentTasks).isEqualTo(12.0);
                }
                assertThat(metrics.registry().get("pqfl.bytes.sent").counter().count())
                        .isEqualTo(sentTasks * LOGISTIC.totalBytes());
            }
        }
    }

    @Test
    void aTrainerWithNothingToEvaluate_declinesTheEvaluationOnce_andTheRunStillFinishes() throws Exception {
        List<Long> evaluations = new CopyOnWriteArrayList<>();
        Trainer noHeldOut = new LogisticTrainer(Data.sample(50, 1), Data.sample(10, 2)) {
            @Override
            public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                evaluations.add(context.round());
                return new EvaluateResult(0, 0, Map.of());
            }
        };
        // The coordinator offers the final evaluation until its deadline; the client must not evaluate again and
        // again in a tight loop while it waits.
        try (Running c = coordinator(1, 1, dir.resolve("data"), Duration.ofSeconds(3))) {
            ManagedChannel ch = c.channel();
            try {
                ClientAgent.Summary s = agent(c, ch, "quiet", noHeldOut, ClientAgent.Hooks.none()).run();
                assertThat(s.finished()).isTrue();
                assertThat(s.updatesAccepted()).isEqualTo(1);
            } finally {
                ch.shutdownNow();
            }
            assertThat(evaluations).containsExactly(1L);
            assertThat(c.coordinator().ledger().entries())
                    .noneMatch(e -> e.kind() == LedgerEntry.Kind.EVALUATION_ACCEPTED);
        }
    }

    @Test
    void aTrainerForAnotherModel_refusesTheTaskWithoutTraining() throws Exception {
        ModelManifest wider = new ModelManifest("logistic-4", List.of(TensorSpec.of("w", 1, 5), TensorSpec.of("b", 1)));
        List<Long> fits = new CopyOnWriteArrayList<>();
        Trainer other = new LogisticTrainer(Data.sample(10, 1), Data.sample(10, 2)) {
            @Override
            public ModelManifest manifest() {
                return wider;
            }

            @Override
            public FitResult fit(ModelWeights global, TrainContext context) {
                fits.add(context.round());
                return super.fit(global, context);
            }
        };
        try (Running c = coordinator(1, 1)) {
            ManagedChannel ch = c.channel();
            try {
                ClientAgent.Summary s = agent(c, ch, "other", other, ClientAgent.Hooks.none()).run();
                assertThat(s.modelsRefused()).isEqualTo(1);
                assertThat(s.roundsTrained()).isZero();
                assertThat(s.finished()).isFalse();
            } finally {
                ch.shutdownNow();
            }
            assertThat(fits).isEmpty();
            assertThat(c.coordinator().ledger().entries()).noneMatch(e -> "other".equals(e.clientId()));
        }
    }

    @Test
    void aFailingTrainer_isReportedAndNothingIsSent() throws Exception {
        Trainer failing = new LogisticTrainer(Data.sample(10, 1), Data.sample(10, 2)) {
            @Override
            public FitResult fit(ModelWeights global, TrainContext context) {
                throw new IllegalStateException("the trainer's own bug");
            }
        };
        Trainer badMetrics = new LogisticTrainer(Data.sample(10, 1), Data.sample(10, 2)) {
            @Override
            public FitResult fit(ModelWeights global, TrainContext context) {
                return new FitResult(global, 10, Map.of(Metrics.LOSS, Double.NaN));
            }
        };
        Trainer checked = new Trainer() {
            @Override
            public ModelManifest manifest() {
                return LOGISTIC;
            }

            @Override
            public FitResult fit(ModelWeights global, TrainContext context) throws TrainerException {
                throw new TrainerException("cannot read the data");
            }

            @Override
            public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                return new EvaluateResult(0, 0, Map.of());
            }
        };
        int run = 0;
        for (Trainer t : List.of(failing, badMetrics, checked)) {
            try (Running c = coordinator(1, 1, dir.resolve("data-" + run++))) {
                ManagedChannel ch = c.channel();
                List<ClientAgent.RoundReport> reports = new CopyOnWriteArrayList<>();
                try {
                    ClientAgent.Summary s = agent(c, ch, "failing", t, ClientAgent.Hooks.builder().observe(reports::add)
                            .build()).run();
                    assertThat(s.trainingFailures()).isEqualTo(1);
                    assertThat(s.roundsTrained()).isZero();
                    assertThat(s.finished()).isFalse();
                } finally {
                    ch.shutdownNow();
                }
                assertThat(reports).singleElement().satisfies(r -> {
                    assertThat(r.accepted()).isFalse();
                    assertThat(r.reason()).isEqualTo("TRAINING_FAILED");
                });
                assertThat(c.coordinator().ledger().entries()).noneMatch(e -> "failing".equals(e.clientId()));
            }
        }
    }
}
