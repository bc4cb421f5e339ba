package io.pqfl.client.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.pqfl.client.FashionMnist;
import io.pqfl.client.data.Examples;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerOptions;
import io.pqfl.trainer.Trainers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DjlTrainerTest {
    private static final TrainingConfig ADAM = new TrainingConfig(1, 64, 1e-3f, 0f, "adam");

    /** A linear model over 3 features with one output: what the regression tests train. */
    public static final class LinearBlocks implements BlockFactory {
        @Override
        public Block build(TrainerOptions options) {
            return Linear.builder().setUnits(1).build();
        }

        @Override
        public Shape inputShape() {
            return new Shape(3);
        }
    }

    /** Logistic regression on 28x28 images: one logit. */
    public static final class LogitBlocks implements BlockFactory {
        @Override
        public Block build(TrainerOptions options) {
            return new SequentialBlock().add(Blocks.batchFlattenBlock(784)).add(Linear.builder().setUnits(1).build());
        }

        @Override
        public Shape inputShape() {
            return new Shape(1, 28, 28);
        }
    }

    private static TrainContext context(TrainingConfig cfg, long seed) {
        return TrainContext.of(1, cfg, seed);
    }

    @ParameterizedTest
    @EnumSource(ModelCatalog.class)
    void codec_roundTripIsBitExact_forEveryModel(ModelCatalog arch) {
        ModelWeights w = arch.initialWeights(5);
        try (Model model = Model.newInstance(arch.id(), Device.cpu())) {
            model.setBlock(ModelFactory.build(arch));
            try (Trainer t = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()))) {
                t.initialize(ModelFactory.INPUT);
                WeightsCodec.write(model.getBlock(), w);
                ModelWeights back = WeightsCodec.read(model.getBlock(), arch.manifest());
                assertThat(back.digest()).isEqualTo(w.digest());
                assertThatThrownBy(() -> WeightsCodec.read(model.getBlock(), ModelCatalog.values()[(arch.ordinal() + 1) % 3].manifest()))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void classification_oneEpochOnASubset_liftsHeldOutAccuracyWellAboveChance() throws Exception {
        Examples train = FashionMnist.train().range(0, 6000);
        Examples test = FashionMnist.test().range(0, 2000);
        List<long[]> progress = new ArrayList<>();
        try (DjlTrainer trainer = new DjlTrainer(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION, train, test,
                Device.cpu())) {
            ModelWeights initial = trainer.initialWeights(1);
            assertThat(initial.digest()).isEqualTo(ModelCatalog.MLP.initialWeights(1).digest());
            double before = trainer.evaluate(initial, context(ADAM, 0)).metric(Metrics.ACCURACY, 1);
            FitResult r = trainer.fit(initial, new TrainContext(1, ADAM, 7, (done, total) -> progress.add(new long[] {done, total})));
            assertThat(r.examples()).isEqualTo(6000);
            assertThat(before).isLessThan(0.3);
            assertThat(r.metrics()).containsKeys(Metrics.LOSS, Metrics.EVAL_LOSS, Metrics.EVAL_ACCURACY, Metrics.TRAIN_MILLIS)
                    .containsEntry(Metrics.EVAL_EXAMPLES, 2000.0);
            assertThat(r.metric(Metrics.EVAL_ACCURACY, 0)).isGreaterThan(0.65);
            EvaluateResult after = trainer.evaluate(r.weights(), context(ADAM, 0));
            assertThat(after.examples()).isEqualTo(2000);
            assertThat(after.metric(Metrics.ACCURACY, 0)).isEqualTo(r.metric(Metrics.EVAL_ACCURACY, 0));
            assertThat(after.loss()).isEqualTo(r.metric(Metrics.EVAL_LOSS, 0));
            assertThat(progress).isNotEmpty().last().satisfies(p -> assertThat(p).containsExactly(6000, 6000));
        }
    }

    @Test
    void fit_isReproducibleForTheSameSeed() throws Exception {
        Examples train = FashionMnist.train().range(0, 500);
        try (DjlTrainer trainer = new DjlTrainer(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION, train, null,
                Device.cpu())) {
            ModelWeights initial = trainer.initialWeights(1);
            ModelWeights a = trainer.fit(initial, context(ADAM, 3)).weights();
            ModelWeights b = trainer.fit(initial, context(ADAM, 3)).weights();
            ModelWeights c = trainer.fit(initial, context(ADAM, 4)).weights();
            assertThat(a.digest()).isEqualTo(b.digest()).isNotEqualTo(c.digest());
        }
    }

    @Test
    void fedProxTerm_keepsWeightsCloserToTheGlobalModel() throws Exception {
        Examples train = FashionMnist.train().range(0, 2000);
        ModelWeights initial = ModelCatalog.MLP.initialWeights(1);
        try (DjlTrainer trainer = new DjlTrainer(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION, train, null,
                Device.cpu())) {
            FitResult plain = trainer.fit(initial, context(ADAM, 3));
            FitResult prox = trainer.fit(initial, context(ADAM.withProximalMu(1.0f), 3));
            assertThat(distance(prox.weights(), initial)).isLessThan(distance(plain.weights(), initial));
            assertThat(plain.metrics()).doesNotContainKey(Metrics.EVAL_LOSS);
        }
    }

    @Test
    void binary_logisticRegressionFromABlockFactory_separatesTwoClasses() throws Exception {
        Examples all = FashionMnist.train().range(0, 4000);
        int[] idx = java.util.stream.IntStream.range(0, all.size()).filter(i -> all.labels()[i] <= 1).toArray();
        Examples two = all.select(idx); // T-shirt/top (0) and trouser (1)
        Examples train = two.range(0, two.size() - 200);
        Examples eval = two.range(two.size() - 200, two.size());
        DjlModel model = DjlModel.fromFactory(new LogitBlocks(), TrainerOptions.of(Map.of()));
        assertThat(model.manifest().architecture()).isEqualTo("logitblocks");
        assertThat(model.manifest().tensors()).extracting(t -> t.name() + t.shape())
                .containsExactly("02Linear_weight[1, 784]", "02Linear_bias[1]");
        try (DjlTrainer trainer = new DjlTrainer(model, TaskKind.BINARY, train, eval, Device.cpu())) {
            ModelWeights initial = trainer.initialWeights(1);
            double before = trainer.evaluate(initial, context(ADAM, 0)).metric(Metrics.ACCURACY, 1);
            FitResult r = trainer.fit(initial, context(new TrainingConfig(2, 32, 1e-2f, 0f, "adam"), 5));
            double after = r.metric(Metrics.EVAL_ACCURACY, 0);
            assertThat(after).isGreaterThan(0.9).isGreaterThan(before);
        }
    }

    /** y = 1.5 x0 - 2 x1 + 0.5 x2 + 0.3, plus a little noise. */
    private static Examples linear(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 3];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) {
                x[i * 3 + j] = (float) r.nextGaussian();
            }
            y[i] = (float) (1.5 * x[i * 3] - 2 * x[i * 3 + 1] + 0.5 * x[i * 3 + 2] + 0.3 + 0.05 * r.nextGaussian());
        }
        return Examples.regression(x, y, new int[] {3});
    }

    @ParameterizedTest
    @EnumSource(value = TaskKind.class, names = {"REGRESSION", "REGRESSION_L1"})
    void regression_learnsALinearRelation(TaskKind task) throws Exception {
        DjlModel model = DjlModel.fromFactory(new LinearBlocks(), TrainerOptions.of(Map.of()));
        try (DjlTrainer trainer = new DjlTrainer(model, task, linear(800, 1), linear(200, 2), Device.cpu())) {
            ModelWeights initial = ModelWeights.zeros(model.manifest());
            EvaluateResult before = trainer.evaluate(initial, context(ADAM, 0));
            FitResult r = trainer.fit(initial, context(new TrainingConfig(10, 16, 0.05f, 0f, "adam"), 1));
            EvaluateResult after = trainer.evaluate(r.weights(), context(ADAM, 0));
            assertThat(after.loss()).isLessThan(before.loss() / 20);
            assertThat(after.metric(Metrics.MAE, 1)).isLessThan(0.15);
            assertThat(r.metric("eval_" + Metrics.MAE, -1)).isEqualTo(after.metric(Metrics.MAE, 0));
            if (task == TaskKind.REGRESSION) {
                assertThat(after.metrics()).containsKey(Metrics.RMSE);
                assertThat(after.loss()).isCloseTo(Math.pow(after.metric(Metrics.RMSE, 0), 2), Offset.offset(1e-4));
            } else {
                assertThat(after.metrics()).doesNotContainKey(Metrics.RMSE);
                assertThat(after.loss()).isCloseTo(after.metric(Metrics.MAE, 0), Offset.offset(1e-4));
            }
            // The weights found are the relation's.
            float[] w = r.weights().tensor(0);
            assertThat(w[0]).isCloseTo(1.5f, Offset.offset(0.1f));
            assertThat(w[1]).isCloseTo(-2f, Offset.offset(0.1f));
        }
    }

    @Test
    void examplesOfAnotherShape_areRefusedNamingBothShapes() throws Exception {
        DjlModel model = DjlModel.fromFactory(new LinearBlocks(), TrainerOptions.of(Map.of()));
        Examples four = Examples.regression(new float[8], new float[2], new int[] {4});
        assertThatThrownBy(() -> new DjlTrainer(model, TaskKind.REGRESSION, four, null, Device.cpu()))
                .isInstanceOf(TrainerException.class)
                .hasMessage("the training examples have shape [4] (4 values), but the model linearblocks takes [3] (3 values)");
        Examples labelled = new Examples(new float[6], new int[2], 3, 2);
        assertThatThrownBy(() -> new DjlTrainer(model, TaskKind.REGRESSION, labelled, null, Device.cpu()))
                .hasMessageContaining("the task is regression, but the training examples have class labels");
        Examples threeClasses = new Examples(new float[784 * 2], new int[] {0, 2}, 784, 3);
        assertThatThrownBy(() -> new DjlTrainer(DjlModel.fromFactory(new LogitBlocks(), TrainerOptions.of(Map.of())),
                TaskKind.BINARY, threeClasses, null, Device.cpu())).hasMessageContaining("label 2 (binary labels are 0 and 1)");
        // The same number of values in another layout is reshaped: 784 columns as a 1x28x28 image.
        Examples flat = FashionMnist.train().range(0, 2).reshaped(784);
        try (DjlTrainer t = new DjlTrainer(DjlModel.builtIn(ModelCatalog.MLP), TaskKind.CLASSIFICATION, flat, null,
                Device.cpu())) {
            assertThat(t.fit(ModelCatalog.MLP.initialWeights(1), context(ADAM, 1)).examples()).isEqualTo(2);
        }
    }

    @Test
    void factory_isFoundByName_andBuildsFromOptions() throws Exception {
        var factory = Trainers.find("djl", null);
        assertThat(factory).isInstanceOf(DjlTrainerFactory.class);
        TrainerOptions options = new TrainerOptions(Map.of("model", "mlp", "partition", "0/30", "eval-fraction", "0.25"),
                1, "cpu");
        try (DjlTrainer t = (DjlTrainer) factory.create(options)) {
            assertThat(t.manifest()).isEqualTo(ModelCatalog.MLP.manifest());
            assertThat(t.trainExamples()).isEqualTo(1500);
            assertThat(t.evalExamples()).isEqualTo(500);
        }
        TrainerOptions block = new TrainerOptions(Map.of("block-factory", LinearBlocks.class.getName(), "task", "binary",
                "partition", "0-99"), 1, "cpu");
        assertThatThrownBy(() -> factory.create(block)).isInstanceOf(TrainerException.class)
                .hasMessageContaining("have shape [1, 28, 28] (784 values), but the model linearblocks takes [3]");
    }

    @Test
    void factory_torchScript_trainsTheModulesOwnTensors() throws Exception {
        var factory = new DjlTrainerFactory();
        String pt = java.nio.file.Path.of("..", "examples", "torchscript-cnn", "model", "fmnist_cnn.pt").toString();
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("torchscript", pt, "partition", "0-99"))))
                .isInstanceOf(TrainerException.class).hasMessageContaining("needs input-shape");
        TrainerOptions options = new TrainerOptions(Map.of("torchscript", pt, "input-shape", "1,28,28",
                "partition", "0-599", "eval-fraction", "0.2"), 3, "cpu");
        try (DjlTrainer t = (DjlTrainer) factory.create(options)) {
            assertThat(t.manifest().architecture()).isEqualTo("fmnist_cnn");
            assertThat(t.manifest().tensors()).extracting(io.pqfl.protocol.TensorSpec::name)
                    .containsExactly("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias");
            ModelWeights start = t.initialWeights(3);
            EvaluateResult before = t.evaluate(start, TrainContext.of(1, TrainingConfig.defaults(), 3));
            FitResult fit = t.fit(start, TrainContext.of(1, new TrainingConfig(2, 32, 3e-3f, 0f, "adam"), 3));
            EvaluateResult after = t.evaluate(fit.weights(), TrainContext.of(1, TrainingConfig.defaults(), 3));
            assertThat(fit.examples()).isEqualTo(480);
            assertThat(after.loss()).isLessThan(before.loss());
        }
    }

    @Test
    void factory_regressionOnIdxData_isRefusedNamingTheData() {
        var factory = new DjlTrainerFactory();
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("task", "regression", "partition", "0-99"))))
                .isInstanceOf(TrainerException.class).hasMessageContaining("fashion-mnist")
                .hasMessageContaining("takes no regression");
    }

    @Test
    void factory_badOptions_areClearErrors() {
        var factory = new DjlTrainerFactory();
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("modle", "cnn"))))
                .hasMessageStartingWith("unknown trainer option 'modle'; known options: block-factory, channels, classes, client-index");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("model", "resnet"))))
                .hasMessageContaining("unknown model 'resnet'");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("task", "ranking"))))
                .hasMessage("unknown task 'ranking': use classification, binary, regression, regression-l1");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("model", "mlp", "block-factory", "x.Y"))))
                .hasMessageContaining("not several");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("block-factory", "com.example.Missing"))))
                .hasMessageContaining("block factory class com.example.Missing not found");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("block-factory", String.class.getName()))))
                .hasMessage("java.lang.String does not implement io.pqfl.client.train.BlockFactory");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("torchscript", "/nonexistent/model.pt",
                "input-shape", "1,28,28")))).isInstanceOf(TrainerException.class).hasMessageContaining("/nonexistent/model.pt");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("eval-fraction", "1"))))
                .hasMessage("trainer option 'eval-fraction' must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> factory.create(new TrainerOptions(Map.of(), 1, "tpu")))
                .hasMessage("unknown device 'tpu': use auto, cpu or gpu");
        assertThatThrownBy(() -> factory.create(TrainerOptions.of(Map.of("data", "/nonexistent/data.csv"))))
                .isInstanceOf(TrainerException.class).hasMessageContaining("/nonexistent/data.csv");
    }

    @Test
    void tensorNames_areSanitisedAndUnique() {
        var taken = new java.util.HashSet<String>();
        assertThat(DjlModel.tensorName("01Linear_weight", taken)).isEqualTo("01Linear_weight");
        assertThat(DjlModel.tensorName("a b/c", taken)).isEqualTo("a_b_c");
        assertThat(DjlModel.tensorName("a_b_c", taken)).isEqualTo("a_b_c_2");
        assertThat(DjlModel.tensorName("x".repeat(200), taken)).hasSize(120);
    }

    private static double distance(ModelWeights a, ModelWeights b) {
        double s = 0;
        for (int t = 0; t < a.tensorCount(); t++) {
            for (int i = 0; i < a.tensor(t).length; i++) {
                double d = a.tensor(t)[i] - b.tensor(t)[i];
                s += d * d;
            }
        }
        return Math.sqrt(s);
    }
}
