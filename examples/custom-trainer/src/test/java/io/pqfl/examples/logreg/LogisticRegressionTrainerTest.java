package io.pqfl.examples.logreg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The logreg trainer on a real dataset: iris.csv (150 rows, 4 features, 3 classes, sorted by class), copied from
 * scikit-learn 1.2.1's sklearn/datasets/data/ as Debian's python3-sklearn package ships it.
 */
class LogisticRegressionTrainerTest {
    static final TrainingConfig SGD = new TrainingConfig(5, 16, 0.1f, 0f, "sgd");

    @TempDir
    Path dir;

    static Path iris() throws URISyntaxException {
        return Path.of(LogisticRegressionTrainerTest.class.getResource("/iris.csv").toURI());
    }

    static Trainer trainer(Map<String, String> extra) throws Exception {
        Map<String, String> o = new HashMap<>(Map.of("data", iris().toString(), "data-format", "sklearn",
                "standardize", "true"));
        o.putAll(extra);
        return new LogisticRegressionFactory().create(TrainerOptions.of(o));
    }

    @Test
    void fit_learnsIris_fromZeros() throws Exception {
        try (Trainer t = trainer(Map.of())) {
            assertThat(t.manifest().architecture()).isEqualTo("logreg-4x3");
            ModelWeights zeros = t.initialWeights(7);
            EvaluateResult before = t.evaluate(zeros, TrainContext.of(1, SGD, 1));
            assertThat(before.examples()).isEqualTo(30);
            assertThat(before.loss()).isCloseTo(Math.log(3), org.assertj.core.data.Offset.offset(1e-6));

            FitResult fit = t.fit(zeros, TrainContext.of(1, SGD, 1));
            assertThat(fit.examples()).isEqualTo(120);
            assertThat(zeros.tensor(0)).containsOnly(0f); // the global model is not changed in place
            EvaluateResult after = t.evaluate(fit.weights(), TrainContext.of(1, SGD, 1));
            assertThat(after.loss()).isLessThan(before.loss() / 2);
            assertThat(after.metric(Metrics.ACCURACY, 0)).isGreaterThan(0.85);
            assertThat(fit.metrics()).containsKeys(Metrics.LOSS, Metrics.EVAL_LOSS, Metrics.EVAL_ACCURACY,
                    Metrics.EVAL_EXAMPLES);
            assertThat(fit.metric(Metrics.EVAL_ACCURACY, 0)).isEqualTo(after.metric(Metrics.ACCURACY, 0));
        }
    }

    @Test
    void fit_isReproducibleForASeed() throws Exception {
        try (Trainer a = trainer(Map.of()); Trainer b = trainer(Map.of())) {
            ModelWeights zeros = a.initialWeights(1);
            assertThat(a.fit(zeros, TrainContext.of(1, SGD, 42)).weights().tensor(0))
                    .containsExactly(b.fit(zeros, TrainContext.of(1, SGD, 42)).weights().tensor(0));
        }
    }

    @Test
    void partitions_splitTheTrainingRows_andTheEvaluatorHoldsOutTheClientsHeldOutRows() throws Exception {
        long train = 0;
        long held = 0;
        for (int k = 0; k < 3; k++) {
            try (Trainer t = trainer(Map.of("partition", k + "/3", "client-index", "" + k, "clients", "3"))) {
                train += t.fit(t.initialWeights(1), TrainContext.of(1, SGD, 1)).examples();
                held += t.evaluate(t.initialWeights(1), TrainContext.of(1, SGD, 1)).examples();
            }
        }
        assertThat(train).isEqualTo(120);
        try (Trainer evaluator = trainer(Map.of("partition", "all", "client-index", "-1", "clients", "3"))) {
            assertThat(evaluator.evaluate(evaluator.initialWeights(1), TrainContext.of(1, SGD, 1)).examples())
                    .isEqualTo(held).isEqualTo(30);
        }
    }

    @Test
    void plainCsv_withHeader_labelColumnByName() throws Exception {
        Path csv = dir.resolve("xor-free.csv");
        StringBuilder s = new StringBuilder("x,y,label\n");
        for (int i = 0; i < 40; i++) {
            s.append(i).append(',').append(i % 7).append(',').append(i < 20 ? 0 : 1).append('\n');
        }
        Files.writeString(csv, s);
        Trainer t = new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString(),
                "label-column", "label", "standardize", "true", "eval-fraction", "0")));
        assertThat(t.manifest().tensors()).extracting(spec -> spec.shape()).containsExactly(
                java.util.List.of(2, 2), java.util.List.of(2));
        FitResult fit = t.fit(t.initialWeights(1), TrainContext.of(1, new TrainingConfig(20, 8, 0.5f, 0f, "adam"), 1));
        assertThat(fit.metric(Metrics.LOSS, 1)).isLessThan(0.3);
        assertThat(fit.metrics()).doesNotContainKey(Metrics.EVAL_LOSS); // nothing held out
    }

    @Test
    void badData_isRefusedWithFileAndLine() throws Exception {
        Path csv = dir.resolve("bad.csv");
        Files.writeString(csv, "a,b,label\n1,2,0\n3,x,1\n");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString(),
                "label-column", "label")))).isInstanceOf(TrainerException.class)
                .hasMessage(csv + ":3: column 2 is 'x', not a number");
        Files.writeString(csv, "1,2,0\n3,4,0.5\n");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString(),
                "label-column", "3")))).hasMessage(csv + ":2: the label '0.5' is not a class index (0, 1, 2, ...)");
        Files.writeString(csv, "1,2,0\n3,4\n");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString()))))
                .hasMessage(csv + ":2: 2 cells, expected 3");
        Files.writeString(csv, "2,3,no,yes\n1,2,0\n3,4,1\n");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString(),
                "data-format", "sklearn")))).hasMessage(csv + ":2: 3 columns, but the first line declares 3 features "
                + "and a target");
        Files.writeString(csv, "x,y,label\n1,2,0\n");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data", csv.toString(),
                "data-format", "sklearn")))).hasMessageStartingWith(csv + ":1: not scikit-learn's layout");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of("data",
                dir.resolve("missing.csv").toString())))).hasMessage(dir.resolve("missing.csv") + ": no such file");
    }

    @Test
    void options_unknownOrMissing_areRefusedByName() throws Exception {
        assertThatThrownBy(() -> trainer(Map.of("learning-rate", "0.1")))
                .isInstanceOf(TrainerException.class).hasMessageContaining("unknown trainer option 'learning-rate'")
                .hasMessageContaining("eval-fraction");
        assertThatThrownBy(() -> new LogisticRegressionFactory().create(TrainerOptions.of(Map.of())))
                .hasMessageContaining("needs its data");
        assertThatThrownBy(() -> trainer(Map.of("partition", "3/3"))).hasMessageContaining("partition must be");
    }

    @Test
    void serviceLoader_findsTheFactoryByName() {
        assertThat(ServiceLoader.load(TrainerFactory.class).stream().map(ServiceLoader.Provider::get)
                .map(TrainerFactory::name)).contains("logreg");
    }
}
