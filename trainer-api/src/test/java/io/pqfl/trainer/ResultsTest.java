package io.pqfl.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelWeights;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResultsTest {
    private static final ModelWeights W = ModelWeights.of(TrainersTest.MANIFEST, new float[][] {{1, 2, 3}});

    @Test
    void fitResult_checksExamplesAndMetrics() {
        FitResult ok = new FitResult(W, 5, Map.of(Metrics.LOSS, 0.25, "custom.f1", 0.5));
        assertThat(ok.metric(Metrics.LOSS, -1)).isEqualTo(0.25);
        assertThat(ok.metric(Metrics.ACCURACY, -1)).isEqualTo(-1);
        assertThatThrownBy(() -> new FitResult(W, 0, Map.of())).hasMessageContaining("at least one example");
        assertThatThrownBy(() -> new FitResult(W, 5, Map.of(Metrics.LOSS, Double.NaN)))
                .hasMessageContaining("metric 'loss' is NaN");
        assertThatThrownBy(() -> new FitResult(W, 5, Map.of("Accuracy%", 1.0))).hasMessageContaining("'Accuracy%'");
    }

    @Test
    void evaluateResult_allowsNoExamplesButNotNegativeOrNonFinite() {
        assertThat(new EvaluateResult(0, 0, Map.of()).examples()).isZero();
        assertThatThrownBy(() -> new EvaluateResult(0, -1, Map.of())).hasMessageContaining("at least 0");
        assertThatThrownBy(() -> new EvaluateResult(Double.POSITIVE_INFINITY, 1, Map.of())).hasMessageContaining("loss");
    }

    @Test
    void options_typedGettersNameTheOption() throws Exception {
        TrainerOptions o = new TrainerOptions(Map.of("epochs", "3", "lr", "0.1", "data", "/tmp/x.csv"), 9, "cpu");
        assertThat(o.getInt("epochs", 1)).isEqualTo(3);
        assertThat(o.getInt("other", 7)).isEqualTo(7);
        assertThat(o.getDouble("lr", 1)).isEqualTo(0.1);
        assertThat(o.getPath("data", null)).isEqualTo(Path.of("/tmp/x.csv"));
        assertThat(o.get("model", "mlp")).isEqualTo("mlp");
        assertThat(o.require("lr")).isEqualTo("0.1");
        assertThat(o.with("lr", "0.2").getDouble("lr", 0)).isEqualTo(0.2);
        assertThat(o.withDefaults(Map.of("lr", "9", "model", "cnn")).values())
                .containsEntry("lr", "0.1").containsEntry("model", "cnn");
        assertThatThrownBy(() -> o.getInt("lr", 1)).isInstanceOf(TrainerException.class)
                .hasMessage("trainer option 'lr' must be an integer, got '0.1'");
        assertThatThrownBy(() -> o.require("model")).hasMessageContaining("missing trainer option 'model'");
        assertThatThrownBy(() -> TrainerOptions.of(Map.of("x", "NaN")).getDouble("x", 0)).hasMessageContaining("finite");
    }

    @Test
    void options_rejectUnknown_namesTheKeyAndTheKnownOnes() throws Exception {
        TrainerOptions o = TrainerOptions.of(Map.of("modle", "mlp"));
        assertThatThrownBy(() -> o.rejectUnknown(Set.of("model", "data"))).isInstanceOf(TrainerException.class)
                .hasMessage("unknown trainer option 'modle'; known options: data, model");
        TrainerOptions.of(Map.of("model", "mlp")).rejectUnknown(Set.of("model", "data"));
    }
}
