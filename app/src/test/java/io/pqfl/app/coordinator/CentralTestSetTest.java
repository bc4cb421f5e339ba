package io.pqfl.app.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.app.CliException;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.evaluate.CentralEvaluator;
import io.pqfl.coordinator.evaluate.Evaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CentralTestSetTest {
    @TempDir
    Path dir;

    @Test
    void evaluatesTheFederationsModelOnTheCoordinatorsTestSet() throws Exception {
        // A tabular test set in the client formats: 3 features, 2 classes, separable by the first feature.
        StringBuilder csv = new StringBuilder("a,b,c,label\n");
        for (int i = 0; i < 40; i++) {
            csv.append(i % 2 == 0 ? "1" : "-1").append(",0.5,").append(i % 5).append(',').append(i % 2).append('\n');
        }
        Path data = dir.resolve("test.csv");
        Files.writeString(data, csv);
        Map<String, String> options = Map.of("model", "linear", "label-column", "label", "classes", "0,1");
        // The federation's model is what the same options build: a linear model of 3 features and 2 classes.
        var manifest = io.pqfl.client.train.DjlTrainerFactory.model(new io.pqfl.trainer.TrainerOptions(
                Map.of("model", "linear"), 1, "cpu"), io.pqfl.client.data.Datasets.load(io.pqfl.client.data.DataSpec
                .builder(data).labelColumn("label").classes(java.util.List.of("0", "1")).build())).manifest();
        CentralEvaluator evaluator = CentralTestSet.create(data, options, manifest);
        float[][] zeros = manifest.tensors().stream().map(t -> new float[t.elementCount()]).toArray(float[][]::new);
        Evaluation e = evaluator.evaluate(1, io.pqfl.protocol.ModelWeights.of(manifest, zeros));
        assertThat(e.examples()).isEqualTo(40);
        // All-zero weights predict both classes with probability 1/2: loss ln 2.
        assertThat(e.loss()).isCloseTo(Math.log(2), Offset.offset(1e-5));
        assertThat(e.metrics()).containsKey("accuracy");
    }

    @Test
    void idxData_isEvaluatedOnItsTestFiles() throws Exception {
        CentralEvaluator evaluator = CentralTestSet.create(Path.of("/usr/share/datasets/fashion-mnist"),
                Map.of("model", "mlp"), ModelCatalog.MLP.manifest());
        Evaluation e = evaluator.evaluate(1, ModelCatalog.MLP.initialWeights(1));
        assertThat(e.examples()).isEqualTo(10_000);
    }

    @Test
    void aModelThatIsNotTheFederations_isRefusedNamingTheDifference() {
        assertThatThrownBy(() -> CentralTestSet.create(Path.of("/usr/share/datasets/fashion-mnist"), Map.of("model", "cnn"),
                ModelCatalog.MLP.manifest())).isInstanceOf(CliException.class)
                .hasMessageContaining("not the federation's");
        assertThatThrownBy(() -> CentralTestSet.create(dir.resolve("missing.csv"), Map.of("model", "mlp"),
                ModelCatalog.MLP.manifest())).isInstanceOf(CliException.class).hasMessageContaining("missing.csv");
    }
}
