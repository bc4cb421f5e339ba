package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.proto.v1.LocalMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks from the review of federated evaluation and client-reported metrics, each against a real coordinator over
 * a real socket (docs/SECURITY.md).
 */
class EvaluationReviewTest {
    @TempDir
    Path dir;

    /**
     * {@code eval_accuracy} is bounded to [0, 1] in its fixed field; a client that evaluated nothing put its own
     * {@code eval_accuracy} (and {@code eval_loss}) in the free metrics map instead, and that value, up to 1e12, became
     * the round's reported held-out accuracy (status, store, gauge).
     */
    @Test
    void reservedEvalMetricsInTheFreeMap_cannotBypassTheAccuracyBound() throws Exception {
        try (TestFederation f = TestFederation.start(dir, 2, b -> b.minClients(2))) {
            TestClient c1 = f.client("c1");
            TestClient c2 = f.client("c2");
            List.of(c1, c2).forEach(TestClient::hello);
            for (TestClient c : List.of(c1, c2)) {
                TestClient.Submission s = c.prepare(c.task(10_000), tiny(1), 100);
                LocalMetrics.Builder m = LocalMetrics.newBuilder().setTrainLoss(1.0);
                if (c == c1) { // evaluated nothing (eval_examples 0), but claims a held-out accuracy and loss in the map
                    m.putMetrics("eval_accuracy", 1e12).putMetrics("eval_loss", -1e12).putMetrics("accuracy", 0.5);
                } else {
                    m.setEvalLoss(0.5).setEvalAccuracy(0.75).setEvalExamples(10);
                }
                s.header.setMetrics(m);
                assertThat(c.send(s).getAccepted()).isTrue();
            }
            assertThat(f.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            EvaluationSummary reported = f.engine.lastEvaluation(EvaluationSummary.Source.CLIENT_REPORTS).orElseThrow();
            assertThat(reported.metrics()).containsEntry("eval_accuracy", 0.75).containsEntry("eval_loss", 0.5)
                    .containsEntry("accuracy", 0.5);
            assertThat(f.metrics.gaugeValue("pqfl.client.reported.eval_accuracy")).isEqualTo(0.75);
        }
    }
}
