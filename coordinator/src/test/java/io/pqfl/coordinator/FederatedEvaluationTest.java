package io.pqfl.coordinator;

import static io.pqfl.coordinator.Refusals.assertRefused;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import io.pqfl.coordinator.evaluate.Evaluation;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.round.RoundPlan;
import io.pqfl.coordinator.round.Stage;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.proto.v1.LocalMetrics;
import io.pqfl.proto.v1.StatusResponse;
import io.pqfl.proto.v1.TaskKind;
import io.pqfl.protocol.EvaluationStatement;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.WireMapping;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Federated evaluation over a real socket: after the last round, sampled clients fetch signed EVALUATE tasks, sign and
 * submit evaluation statements; the coordinator refuses every forged, misdirected or out-of-bounds report with its
 * reason, aggregates the honest ones example-weighted, and records the aggregate in the ledger, the store, the status
 * and the metrics; the central evaluator's result and the metrics clients sent with their updates are recorded too.
 */
class FederatedEvaluationTest {
    @TempDir
    Path dir;

    @Test
    void evaluators_fetchEvaluateTasks_attacksAreRefused_andTheHonestEvaluationsAreAggregatedAndRecorded() throws Exception {
        try (TestFederation f = TestFederation.start(dir, 3, b -> b.minClients(3).finalEvaluation(true)
                .evaluateFraction(0.5).minEvaluations(2)
                .centralEvaluator((round, model) -> new Evaluation(0.75, 1000, Map.of("accuracy", 0.8))))) {
            List<TestClient> clients = List.of(f.client("c1"), f.client("c2"), f.client("c3"));
            clients.forEach(TestClient::hello);
            // Round 1: everyone trains. c1 sends valid metrics with its update, c2 non-finite ones (ignored, the
            // update still accepted), c3 none.
            for (TestClient c : clients) {
                TestClient.ReceivedTask task = c.task(10_000);
                assertThat(task.header().getKind()).isEqualTo(TaskKind.TRAIN);
                TestClient.Submission s = c.prepare(task, tiny(1), 100);
                if (c.id.value().equals("c1")) {
                    s.header.setMetrics(LocalMetrics.newBuilder().setTrainLoss(2.0).setEvalLoss(1.5).setEvalAccuracy(0.5)
                            .setEvalExamples(20).putMetrics("accuracy", 0.5));
                } else if (c.id.value().equals("c2")) {
                    s.header.setMetrics(LocalMetrics.newBuilder().setTrainLoss(Double.NaN));
                }
                assertThat(c.send(s).getAccepted()).isTrue();
            }
            Await.until(Duration.ofSeconds(20), "the evaluation of round 1's model to open",
                    () -> f.engine.openEvaluation().isPresent());
            RoundPlan evaluation = f.engine.openEvaluation().orElseThrow();
            assertThat(f.engine.status().stage()).isEqualTo(Stage.EVALUATING);
            assertThat(evaluation.round()).isEqualTo(1);
            assertThat(evaluation.sampled()).hasSize(2);
            TestClient a = f.client(evaluation.sampled().get(0).value());
            TestClient b = f.client(evaluation.sampled().get(1).value());
            TestClient outsider = clients.stream().filter(c -> !evaluation.sampled().contains(c.id)).findFirst().orElseThrow();

            // The EVALUATE task: signed, of kind EVALUATE, for the model round 1 published.
            TestClient.ReceivedTask task = a.task(10_000);
            assertThat(task.header().getKind()).isEqualTo(TaskKind.EVALUATE);
            assertThat(task.header().getRound()).isEqualTo(1);
            assertThat(task.header().getModelRound()).isEqualTo(1);
            assertThat(task.digest()).isEqualTo(f.engine.globalModel().statement().modelDigest());
            TaskStatement signedTask = WireMapping.taskStatement(task.header(), task.digest(),
                    f.coordinatorKey.scheme(), f.coordinatorKey.keyId());
            signedTask.verify(f.coordinatorKey.verifyingKey(), task.header().getSignature().toByteArray());
            assertThat(RoundNonce.of(task.header().getNonce().toByteArray())).isEqualTo(evaluation.nonce());

            // Attacks, each refused with its reason.
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setLoss(0.1)),
                    RejectReason.BAD_SIGNATURE);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setSignature(ByteString.EMPTY)),
                    RejectReason.BAD_SIGNATURE);
            assertRefused(() -> b.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of())), RejectReason.SESSION_MISMATCH);
            assertRefused(() -> outsider.submitEvaluation(outsider.evaluation(task, 0.2, 100, Map.of())),
                    RejectReason.NOT_SAMPLED);
            assertRefused(() -> a.submitEvaluation(signed(a, task, task.nonce(), tiny(7).digest())),
                    RejectReason.BASE_MODEL_MISMATCH);
            assertRefused(() -> a.submitEvaluation(signed(a, task, RoundNonce.of(new byte[32]), task.digest())),
                    RejectReason.NONCE_MISMATCH);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setLoss(Double.NaN)),
                    RejectReason.NON_FINITE);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of())
                    .putMetrics("accuracy", Double.POSITIVE_INFINITY)), RejectReason.NON_FINITE);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setNumExamples(-1L)),
                    RejectReason.BAD_EXAMPLE_COUNT);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setNumExamples(1_000_001)),
                    RejectReason.BAD_EXAMPLE_COUNT);
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of()).setRound(2)),
                    RejectReason.STALE_ROUND);
            // Nothing refused reached the aggregate: the evaluation is still open with no answers.
            assertThat(f.engine.openEvaluation()).isPresent();
            assertThat(f.coordinator.ledger().entries()).noneMatch(e -> e.kind() == LedgerEntry.Kind.EVALUATION_ACCEPTED);

            // The honest evaluations; a second one from the same client is a duplicate.
            assertThat(a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of("accuracy", 0.9, "rmse", 1.0)))
                    .getAccepted()).isTrue();
            assertRefused(() -> a.submitEvaluation(a.evaluation(task, 0.2, 100, Map.of())), RejectReason.DUPLICATE);
            TestClient.ReceivedTask bTask = b.task(10_000);
            assertThat(b.submitEvaluation(b.evaluation(bTask, 0.6, 300, Map.of("accuracy", 0.5))).getAccepted()).isTrue();
            assertThat(f.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            // The aggregate: example-weighted, over the two honest reports only.
            EvaluationSummary s = f.engine.lastEvaluation(EvaluationSummary.Source.FEDERATED).orElseThrow();
            assertThat(s.round()).isEqualTo(1);
            assertThat(s.clients()).isEqualTo(2);
            assertThat(s.examples()).isEqualTo(400);
            assertThat(s.loss()).isCloseTo((0.2 * 100 + 0.6 * 300) / 400, within(1e-12));
            assertThat(s.metrics().get("accuracy")).isCloseTo((0.9 * 100 + 0.5 * 300) / 400, within(1e-12));
            assertThat(s.metrics().get("rmse")).isCloseTo(1.0, within(1e-12)); // only a reported it

            // The ledger: two accepted evaluations (statements that verify offline), every refusal, the closes.
            List<LedgerEntry> entries = f.coordinator.ledger().entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_ACCEPTED)
                    .extracting(LedgerEntry::clientId).containsExactlyInAnyOrder(a.id.value(), b.id.value());
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_ACCEPTED)
                    .allSatisfy(e -> assertThat(EvaluationStatement.decode(e.statement()).round()).isEqualTo(1));
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_REJECTED)
                    .extracting(LedgerEntry::reason).contains("BAD_SIGNATURE", "SESSION_MISMATCH", "NOT_SAMPLED",
                            "BASE_MODEL_MISMATCH", "NONCE_MISMATCH", "NON_FINITE", "BAD_EXAMPLE_COUNT", "STALE_ROUND",
                            "DUPLICATE");
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_CLOSED)
                    .extracting(LedgerEntry::reason).containsExactly("CENTRAL", "FEDERATED");
            assertThat(LedgerVerifier.verify(Database.open(f.config.effectiveJdbcUrl())).ok()).isTrue();

            // The store, the status and the metrics.
            assertThat(f.coordinator.runs().evaluations()).extracting(RunStore.EvaluationRecord::state, r -> r.summary().source())
                    .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("CLOSED", EvaluationSummary.Source.FEDERATED),
                            org.assertj.core.groups.Tuple.tuple("CLOSED", EvaluationSummary.Source.CENTRAL),
                            org.assertj.core.groups.Tuple.tuple("CLOSED", EvaluationSummary.Source.CLIENT_REPORTS));
            StatusResponse status = a.status();
            assertThat(status.getLastEvaluation().getExamples()).isEqualTo(400);
            assertThat(status.getLastEvaluation().getLoss()).isCloseTo(0.5, within(1e-12));
            assertThat(status.getLastCentralEvaluation().getLoss()).isEqualTo(0.75);
            assertThat(status.getLastCentralEvaluation().getMetricsMap()).containsEntry("accuracy", 0.8);
            // Only c1's metrics count: c2's were non-finite, c3 sent none.
            assertThat(status.getLastClientMetrics().getClients()).isEqualTo(1);
            assertThat(status.getLastClientMetrics().getLoss()).isEqualTo(2.0);
            assertThat(status.getLastClientMetrics().getMetricsMap()).containsEntry("eval_accuracy", 0.5)
                    .containsEntry("accuracy", 0.5);
            assertThat(f.metrics.gaugeValue("pqfl.federated.evaluation.loss")).isCloseTo(0.5, within(1e-12));
            assertThat(f.metrics.gaugeValue("pqfl.federated.evaluation.examples")).isEqualTo(400);
            assertThat(f.metrics.gaugeValue("pqfl.central.evaluation.accuracy")).isEqualTo(0.8);
            assertThat(f.metrics.gaugeValue("pqfl.client.reported.loss")).isEqualTo(2.0);
            assertThat(f.metrics.scrape()).contains("pqfl_federated_evaluation_loss");
        }
    }

    @Test
    void noEvaluatorAnswers_theEvaluationClosesEmptyAtItsDeadline_andTheRunFinishes() throws Exception {
        try (TestFederation f = TestFederation.start(dir, 2, b -> b.finalEvaluation(true)
                .evaluationTimeout(Duration.ofMillis(300)))) {
            TestClient c1 = f.client("c1");
            TestClient c2 = f.client("c2");
            c1.hello();
            c2.hello();
            for (TestClient c : List.of(c1, c2)) {
                TestClient.ReceivedTask t = c.task(10_000);
                c.submit(t, tiny(1), 10);
            }
            assertThat(f.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            EvaluationSummary s = f.engine.lastEvaluation(EvaluationSummary.Source.FEDERATED).orElseThrow();
            assertThat(s.empty()).isTrue();
            assertThat(f.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.EVALUATION_CLOSED)
                    .singleElement().satisfies(e -> assertThat(e.detail()).contains("0 of 2 evaluators answered"));
        }
    }

    @Test
    void unsignedBaseline_acceptsUnsignedReports_andRefusesSignedOnes() throws Exception {
        try (TestFederation f = TestFederation.start(dir, 2, b -> b.finalEvaluation(true)
                .signingPolicy(io.pqfl.protocol.SigningPolicy.UNSIGNED_BASELINE))) {
            TestClient c1 = f.client("c1");
            TestClient c2 = f.client("c2");
            c1.hello();
            c2.hello();
            for (TestClient c : List.of(c1, c2)) {
                c.send(c.prepareUnsigned(c.task(10_000), tiny(1), 10));
            }
            Await.until(Duration.ofSeconds(20), "the evaluation to open", () -> f.engine.openEvaluation().isPresent());
            TestClient.ReceivedTask t = c1.task(10_000);
            assertRefused(() -> c1.submitEvaluation(c1.evaluation(t, 0.1, 10, Map.of())), RejectReason.SCHEME_NOT_ACCEPTED);
            assertThat(c1.submitEvaluation(c1.evaluation(t, 0.1, 10, Map.of()).clearKeyId().clearScheme()
                    .clearSignature()).getAccepted()).isTrue();
        }
    }

    /** An evaluation statement over another nonce or model, honestly signed by {@code c}. */
    private static EvaluationReport signed(TestClient c, TestClient.ReceivedTask task, RoundNonce nonce, PayloadDigest model) {
        EvaluationStatement s = new EvaluationStatement(task.header().getFederationId(), task.header().getRound(), nonce,
                new ClientId(c.id.value()), model, 0.2, 100, Map.of(), c.key.scheme(), c.key.keyId());
        return WireMapping.toWire(s, s.sign(Signer.create(c.key)));
    }
}
