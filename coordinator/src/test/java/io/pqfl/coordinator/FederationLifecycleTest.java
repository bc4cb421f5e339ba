package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.plus;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.metrics.MetricsEndpoint;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.PayloadHasher;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.proto.v1.FederationState;
import io.pqfl.proto.v1.StatusRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FederationLifecycleTest {
    @TempDir
    Path dir;


    /** Each client trains "by" adding a client-specific offset to the model it was given. */
    private static void contribute(TestClient client, float delta) throws Exception {
        TestClient.ReceivedTask t = client.task(15_000);
        t.signed().verify(TestKeysHolder.coordinator(), t.header().getFederationId(), t.digest());
        client.submit(t, plus(t.model(), delta), 10);
    }

    @Test
    void threeRounds_modelsChainAndVerify_ledgerVerifies_statusAndMetricsReport() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(3))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            assertThat(c1.hello().getCoordinatorKeyId()).isEqualTo(fed.coordinatorKey.keyId().hex());
            c2.hello();
            for (int round = 1; round <= 3; round++) {
                contribute(c1, 1);
                contribute(c2, 3);
                waitForRound(fed, round);
            }
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            // Three rounds of mean(+1, +3) = +2 each on top of tiny(0).
            assertThat(fed.global().tensor(0)).containsExactly(tiny(6).tensor(0));
            SignedModel model = fed.engine.globalModel();
            assertThat(model.statement().modelRound()).isEqualTo(3);
            assertThat(model.statement().receipt()).extracting(r -> r.clientId().value()).containsExactly("c1", "c2");

            var status = io.pqfl.proto.v1.FederationGrpc.newBlockingStub(fed.channel).getStatus(StatusRequest.getDefaultInstance());
            assertThat(status.getState()).isEqualTo(FederationState.FINISHED);
            assertThat(status.getCompletedRounds()).isEqualTo(3);
            assertThatThrownBy(() -> c1.task(1000)).isInstanceOfSatisfying(StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE));

            LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()),
                    TestKeysHolder.coordinator(), fed.config.dataDirectory().checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
            assertThat(report.acceptedUpdates()).isEqualTo(6);
            assertThat(report.publishedModels()).isEqualTo(4); // the initial model and one per round
            assertThat(report.checkpoints()).isEqualTo(4);
            assertThat(model.statement().ledgerHead().matches(fed.coordinator.ledger().entries().get(report.entries() - 2).entryHash()))
                    .as("the last model is signed over the entry before its own").isTrue();

            assertThat(fed.metrics.count("pqfl.updates", "outcome", "accepted", "reason", "none")).isEqualTo(6.0);
            assertThat(fed.metrics.count("pqfl.rounds", "outcome", "completed")).isEqualTo(3.0);
        }
    }

    private static void waitForRound(TestFederation fed, long round) {
        Await.until(Duration.ofSeconds(20), "round " + round + " to close", () -> fed.engine.status().closedRounds() >= round);
    }

    @Test
    void differentialPrivacy_clipsEachUpdateInTheRunningFederation_andExportsEpsilon() throws Exception {
        // no noise, clip 0.5: the differences +1 and +3 on every coordinate both clip to 0.5 * (1,..,1)/sqrt(d)
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(1)
                .differentialPrivacy(new io.pqfl.coordinator.privacy.DpSettings(0, 0.5, 1e-5, 0)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            contribute(c1, 1);
            contribute(c2, 3);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            float[] before = tiny(0).tensor(0);
            int d = 0;
            for (int t = 0; t < tiny(0).tensorCount(); t++) {
                d += tiny(0).tensor(t).length;
            }
            float step = (float) (0.5 / Math.sqrt(d));
            float[] after = fed.global().tensor(0);
            for (int i = 0; i < after.length; i++) {
                assertThat(after[i] - before[i]).isCloseTo(step, org.assertj.core.api.Assertions.within(1e-6f));
            }
            // without noise there is no privacy: the gauge says so rather than 0
            assertThat(fed.metrics.gaugeValue("pqfl.dp.epsilon")).isInfinite();
            assertThat(fed.metrics.gaugeValue("pqfl.dp.clip")).as("fixed clipping keeps its norm").isEqualTo(0.5);
        }
    }

    @Test
    void differentialPrivacy_theEvaluatorsSampleIsNotRecordedAsATrainingRoundsSamplingRate() throws Exception {
        // All 3 clients train round 1 (rate 1); then 2 of the 3 are sampled to evaluate its model. Drawing evaluators
        // releases nothing: the DP wrapper must keep no rate of theirs, which it would account a round 1 at.
        try (TestFederation fed = TestFederation.start(dir, 3, b -> b.rounds(1).minClients(3).finalEvaluation(true)
                .evaluateFraction(0.5).differentialPrivacy(new io.pqfl.coordinator.privacy.DpSettings(1.0, 10, 1e-5, 0)))) {
            List<TestClient> clients = List.of(fed.client("c1"), fed.client("c2"), fed.client("c3"));
            clients.forEach(TestClient::hello);
            for (TestClient c : clients) {
                contribute(c, 1);
            }
            Await.until(Duration.ofSeconds(20), "the evaluation of round 1's model to open",
                    () -> fed.engine.openEvaluation().isPresent());
            assertThat(fed.engine.openEvaluation().orElseThrow().sampled()).hasSize(2);
            io.pqfl.coordinator.aggregate.CentralDp dp = fed.engine.differentialPrivacy().orElseThrow();
            assertThat(dp.lastSpent().round()).isEqualTo(1);
            assertThat(dp.lastSpent().rate()).isEqualTo(1.0);
            assertThat(dp.pendingRates()).as("sampling rates recorded for rounds not yet accounted").isEmpty();
        }
    }

    @Test
    void metricsEndpoint_servesPrometheusText() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             MetricsEndpoint endpoint = new MetricsEndpoint("127.0.0.1", 0, fed.metrics)) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            TestClient.ReceivedTask t = c1.task(10_000);
            assertThatThrownBy(() -> c1.submit(t, tiny(1), 0)).isInstanceOf(StatusRuntimeException.class);
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("pqfl_updates_total{outcome=\"rejected\",reason=\"BAD_EXAMPLE_COUNT\"} 1.0");
        }
    }

    @Test
    void restartMidRound_resumesSameNonce_keepsAcceptedUpdate_neverAggregatesTwice() throws Exception {
        TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(3));
        try {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            contribute(c1, 1);
            contribute(c2, 3);
            waitForRound(fed, 1);

            TestClient.ReceivedTask round2 = c1.task(15_000);
            assertThat(round2.header().getRound()).isEqualTo(2);
            c1.submit(round2, plus(round2.model(), 1), 10);

            fed.restart(); // the coordinator dies with round 2 open and c1's update accepted
            c1 = fed.client("c1");
            c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask again = c2.task(15_000);
            assertThat(again.header().getRound()).isEqualTo(2);
            assertThat(again.nonce()).isEqualTo(round2.nonce());
            TestClient c1Again = c1;
            assertThatThrownBy(() -> c1Again.submit(round2, plus(round2.model(), 1), 10))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(Statuses.reasonOf(e)).isEqualTo(RejectReason.DUPLICATE));
            c2.submit(again, plus(again.model(), 3), 10);
            waitForRound(fed, 2);
            contribute(c1, 1);
            contribute(c2, 3);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            assertThat(fed.global().tensor(1)).containsExactly(tiny(6).tensor(1));
            List<LedgerEntry> accepted = fed.coordinator.ledger().entries().stream()
                    .filter(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).toList();
            assertThat(accepted).hasSize(6);
            assertThat(accepted.stream().map(e -> UpdateStatement.decode(e.statement()).round() + "/" + e.clientId()))
                    .doesNotHaveDuplicates();
            int aggregated = fed.coordinator.ledger().entries().stream().filter(e -> e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED)
                    .mapToInt(e -> ModelStatement.decode(e.statement()).receipt().size()).sum();
            assertThat(aggregated).isEqualTo(6);
            LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()),
                    TestKeysHolder.coordinator(), fed.config.dataDirectory().checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
            assertThat(report.notes()).noneMatch(n -> n.contains("not yet in the ledger"));
        } finally {
            fed.close();
        }
    }

    @Test
    void alteredGlobalModel_bytesOrSignature_failsVerificationWithCoordinatorKey() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            TestClient.ReceivedTask t = c1.task(10_000);
            t.signed().verify(fed.coordinatorKey.verifyingKey(), t.header().getFederationId(), t.digest());

            byte[] first = t.chunks().get(0).toByteArray();
            first[0] ^= 1;
            PayloadHasher h = new PayloadHasher().update(t.model().manifest().encode()).update(first);
            for (int i = 1; i < t.chunks().size(); i++) {
                h.update(t.chunks().get(i).toByteArray());
            }
            var altered = h.finish();
            assertThatThrownBy(() -> t.signed().verify(fed.coordinatorKey.verifyingKey(), t.header().getFederationId(), altered))
                    .isInstanceOf(ModelRejectedException.class);

            byte[] sig = t.signed().signature().bytes();
            sig[sig.length / 2] ^= 1;
            SignedModel forged = new SignedModel(t.signed().statement(), SignatureValue.of(t.signed().signature().scheme(), sig));
            assertThatThrownBy(() -> forged.verify(fed.coordinatorKey.verifyingKey(), t.header().getFederationId(), t.digest()))
                    .isInstanceOf(ModelRejectedException.class);
        }
    }

    @Test
    void tooFewUpdatesByTheDeadline_skipsTheRound_modelUnchanged() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.roundTimeout(Duration.ofSeconds(2)))) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            contribute(c1, 1); // c2 drops out
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(0).tensor(0));
            assertThat(fed.coordinator.ledger().entries()).extracting(LedgerEntry::kind).contains(LedgerEntry.Kind.ROUND_SKIPPED);
            assertThat(fed.metrics.count("pqfl.rounds", "outcome", "skipped")).isEqualTo(1.0);
        }
    }

    @Test
    void tamperedLedgerRow_isTheFirstBadEntryReported() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            contribute(c1, 1);
            contribute(c2, 3);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
        }
        String url = DataDirectory.of(dir.resolve("data")).jdbcUrl();
        try (var c = java.sql.DriverManager.getConnection(url); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("UPDATE ledger SET detail = 'x' WHERE seq = 2"))
                    .hasMessageContaining("append-only");
            s.execute("DROP TRIGGER ledger_no_update");
            s.executeUpdate("UPDATE ledger SET detail = '1000 examples' WHERE seq = 2");
        }
        LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(url));
        assertThat(report.ok()).isFalse();
        assertThat(report.firstBadSeq()).isEqualTo(2L);
        assertThat(report.problem()).contains("altered");
    }

    /** The coordinator key of every TestFederation (TestKeys caches it per JVM). */
    static final class TestKeysHolder {
        static io.pqfl.crypto.VerifyingKey coordinator() {
            return io.pqfl.crypto.testing.TestKeys.key(io.pqfl.crypto.SignatureScheme.ML_DSA_65).verifyingKey();
        }
    }
}
