package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.client.PlainTrainerFederationTest.Data;
import io.pqfl.client.PlainTrainerFederationTest.LogisticTrainer;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.secagg.SecAggSettings;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-quantum secure aggregation between real client agents and the real coordinator over loopback gRPC: the model
 * it publishes is plain FedAvg's within the fixed-point error, also when a client drops out after sharing its keys,
 * and the coordinator's ledger holds only masked inputs.
 */
class SecureAggregationFederationTest {
    @TempDir
    Path dir;

    private record Run(ModelWeights model, List<LedgerEntry> ledger, List<ClientAgent.RoundReport> reports,
                       String jdbcUrl, SigningKey coordinatorKey, double epsilon) {
    }

    /** One round with {@code clients} logistic-regression clients; {@code failing} of them fail to train (after sharing keys). */
    private Run federate(String name, int clients, int failing, SecAggSettings secure, Duration roundTimeout) throws Exception {
        return federate(name, clients, failing, secure, roundTimeout, null, java.util.Map.of());
    }

    private Run federate(String name, int clients, int failing, SecAggSettings secure, Duration roundTimeout,
                         io.pqfl.coordinator.privacy.DpSettings dp, java.util.Map<String, String> strategyParams) throws Exception {
        SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
        Path data = dir.resolve(name);
        CoordinatorConfig config = CoordinatorConfig.builder().federationId(name).dataDir(data)
                .initialWeights(ModelWeights.zeros(PlainTrainerFederationTest.LOGISTIC)).rounds(1).minClients(clients)
                .minUpdates(clients - failing).roundTimeout(roundTimeout).evaluateEvery(0).finalEvaluation(false)
                .training(new TrainingConfig(2, 16, 0.5f, 0f, "sgd")).secureAggregation(secure).differentialPrivacy(dp)
                .strategyParams(strategyParams).build();
        TrustStore trust = TrustStore.open(config.trustDir());
        CoordinatorMetrics metrics = new CoordinatorMetrics();
        Coordinator coordinator = Coordinator.open(config, key, trust, metrics, Clock.systemUTC(), new SecureRandom());
        List<ClientAgent.RoundReport> reports = new CopyOnWriteArrayList<>();
        try (CoordinatorServer server = new CoordinatorServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                coordinator).start()) {
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<ManagedChannel> channels = new ArrayList<>();
            List<Future<ClientAgent.Summary>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
                channels.add(ch);
                Trainer trainer = new LogisticTrainer(Data.sample(100 + 50 * i, i), Data.sample(50, 10 + i));
                if (i < failing) {
                    trainer = new LogisticTrainer(Data.sample(10, i), Data.sample(10, i)) {
                        @Override
                        public FitResult fit(ModelWeights global, TrainContext context) {
                            throw new IllegalStateException("this device ran out of battery");
                        }
                    };
                }
                SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
                String id = "client-" + i;
                trust.add(new ClientId(id), k.verifyingKey());
                ClientAgent agent = new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId(id), k, key.verifyingKey())
                        .pollWait(Duration.ofSeconds(5)).maxConsecutiveRefusals(1).build(),
                        ClientAgent.Hooks.builder().observe(reports::add).build(), trainer, ClientAgent.Progress.NONE);
                results.add(pool.submit(agent::run));
            }
            assertThat(coordinator.rounds().awaitFinished(Duration.ofMinutes(2))).isTrue();
            for (Future<ClientAgent.Summary> f : results) {
                f.get(1, TimeUnit.MINUTES);
            }
            pool.shutdownNow();
            channels.forEach(ManagedChannel::shutdownNow);
            ModelWeights model = ModelFiles.read(config.dataDirectory().checkpoint(1)).weights();
            return new Run(model, coordinator.ledger().entries(), reports, config.effectiveJdbcUrl(), key,
                    metrics.gaugeValue("pqfl.dp.epsilon"));
        } finally {
            coordinator.close();
        }
    }

    private static SecAggSettings secure() {
        return new SecAggSettings(0, 0, 4.0, SecAggSettings.DEFAULT_WEIGHT_CAP, Duration.ofSeconds(20));
    }

    private static void assertClose(ModelWeights a, ModelWeights b, double tolerance) {
        for (int t = 0; t < a.tensorCount(); t++) {
            for (int i = 0; i < a.tensor(t).length; i++) {
                assertThat((double) a.tensor(t)[i]).as("tensor %d[%d]", t, i)
                        .isCloseTo(b.tensor(t)[i], org.assertj.core.data.Offset.offset(tolerance));
            }
        }
    }

    @Test
    void theSecurelyAggregatedModelIsPlainFedAvgs_andTheLedgerHoldsOnlyMaskedInputs() throws Exception {
        Run plain = federate("plain", 4, 0, null, Duration.ofSeconds(60));
        Run masked = federate("masked", 4, 0, secure(), Duration.ofSeconds(60));
        assertThat(plain.model().tensor(0)).isNotEqualTo(new float[PlainTrainerFederationTest.FEATURES]); // it trained
        assertClose(masked.model(), plain.model(), 1e-5);
        assertThat(masked.ledger()).filteredOn(e -> e.kind() == LedgerEntry.Kind.SECAGG_INPUT_ACCEPTED).hasSize(4);
        assertThat(masked.ledger()).noneMatch(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED);
        assertThat(masked.reports()).hasSize(4).allSatisfy(r -> assertThat(r.accepted()).isTrue());
        // the ledger with masked inputs verifies end to end, their digests matching the published model's receipt
        LedgerVerifier.Report report;
        try (var db = io.pqfl.coordinator.store.Database.open(masked.jdbcUrl())) {
            report = LedgerVerifier.verify(db);
        }
        assertThat(report.ok()).as(report.toString()).isTrue();
    }

    @Test
    void aClientThatDropsAfterSharing_isUnmaskedFromItsNeighboursShares_andTheRoundCompletes() throws Exception {
        // client-0 advertises keys and shares them, then fails to train: its pairwise masks are in the others' inputs
        Run masked = federate("dropout", 5, 1, secure(), Duration.ofSeconds(15));
        assertThat(masked.ledger()).filteredOn(e -> e.kind() == LedgerEntry.Kind.SECAGG_INPUT_ACCEPTED).hasSize(4)
                .noneMatch(e -> "client-0".equals(e.clientId()));
        assertThat(masked.ledger()).anyMatch(e -> e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED && e.round() == 1);
        Run survivorsOnly = federate("survivors", 5, 1, null, Duration.ofSeconds(15));
        assertClose(masked.model(), survivorsOnly.model(), 1e-5);
    }

    @Test
    void withDistributedDp_clientsClipAndAddNoise_andTheAccountantCountsTheNoiseThatArrived() throws Exception {
        var equal = java.util.Map.of("weighting", "equal");
        // no noise and a clip no update reaches: exactly the unweighted FedAvg
        Run plainEqual = federate("plain-equal", 4, 0, null, Duration.ofSeconds(60), null, equal);
        Run noiseless = federate("dp-noiseless", 4, 0, secure(), Duration.ofSeconds(60),
                new io.pqfl.coordinator.privacy.DpSettings(0.0, 100.0, 1e-5, 0), equal);
        assertClose(noiseless.model(), plainEqual.model(), 1e-5);
        // noise multiplier 2, clip 0.5: each of the 4 clients adds std 2 * 0.5 / sqrt(4) = 0.5 per coordinate, so the
        // mean carries std 2 * 0.5 / 4 = 0.25
        var dp = new io.pqfl.coordinator.privacy.DpSettings(2.0, 0.5, 1e-5, 0);
        Run noisy = federate("dp-noisy", 4, 0, secure(), Duration.ofSeconds(60), dp, equal);
        double maxDiff = 0;
        for (int t = 0; t < noisy.model().tensorCount(); t++) {
            for (int i = 0; i < noisy.model().tensor(t).length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(noisy.model().tensor(t)[i] - noiseless.model().tensor(t)[i]));
            }
        }
        assertThat(maxDiff).isGreaterThan(1e-4).isLessThan(0.5 + 8 * 0.25); // clipped move <= 0.5, noise within 8 std
        var expected = new io.pqfl.coordinator.privacy.RdpAccountant();
        expected.compose(1.0, 2.0, 1); // every client sampled and every input arrived: multiplier 2 at rate 1
        assertThat(noisy.epsilon()).isCloseTo(expected.epsilon(1e-5), org.assertj.core.data.Offset.offset(1e-9));
        // the spending is in the ledger, right before the round's model, and the verifier recomputes it
        assertThat(noisy.ledger()).filteredOn(e -> e.kind() == LedgerEntry.Kind.PRIVACY_SPENT).singleElement()
                .satisfies(e -> assertThat(e.detail()).contains("dp_noise_multiplier=2.0"));
        try (var db = io.pqfl.coordinator.store.Database.open(noisy.jdbcUrl())) {
            LedgerVerifier.Report report = LedgerVerifier.verify(db);
            assertThat(report.ok()).as(report.toString()).isTrue();
        }
    }
}
