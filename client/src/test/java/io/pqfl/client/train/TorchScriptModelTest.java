package io.pqfl.client.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.pqfl.client.FashionMnist;
import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The example's TorchScript CNN ({@code examples/torchscript-cnn/model/fmnist_cnn.pt}, written by its
 * export_model.py) and the fixtures in {@code src/test/resources/io/pqfl/client/train/torchscript/} (written by
 * make_fixtures.py there, with Debian's python3-torch 1.13.1).
 */
class TorchScriptModelTest {
    static final Path CNN = Path.of("..", "examples", "torchscript-cnn", "model", "fmnist_cnn.pt");
    static final int[] IMAGE = {1, 28, 28};

    /** What export_model.py prints for the committed file. */
    static final List<TensorSpec> CNN_TENSORS = List.of(
            TensorSpec.of("conv1.weight", 8, 1, 3, 3),
            TensorSpec.of("conv1.bias", 8),
            TensorSpec.of("conv2.weight", 16, 8, 3, 3),
            TensorSpec.of("conv2.bias", 16),
            TensorSpec.of("fc.weight", 10, 784),
            TensorSpec.of("fc.bias", 10));

    static Path fixture(String name) throws URISyntaxException {
        return Path.of(TorchScriptModelTest.class.getResource("torchscript/" + name).toURI());
    }

    @Test
    void load_exampleCnn_manifestIsTheModulesParametersInOrder() throws Exception {
        try (TorchScriptModel ts = TorchScriptModel.load(CNN, IMAGE, Device.cpu())) {
            assertThat(ts.manifest().architecture()).isEqualTo("fmnist_cnn");
            assertThat(ts.manifest().tensors()).containsExactlyElementsOf(CNN_TENSORS);
            assertThat(ts.manifest().totalElements()).isEqualTo(9098);
            assertThat(ts.inputShape()).isEqualTo(new Shape(1, 28, 28));
            assertThat(ts.outputShape()).isEqualTo(new Shape(1, 10));
            assertThat(ts.block().getParameters().values()).allMatch(p -> p.requiresGradient());
        }
    }

    @Test
    void initialWeights_areTheFilesParametersBitExact() throws Exception {
        try (TorchScriptModel ts = TorchScriptModel.load(CNN, IMAGE, Device.cpu());
             ZipFile zip = new ZipFile(CNN.toFile())) {
            ModelWeights initial = ts.initialWeights();
            // torch.jit.save stores each parameter's storage as raw little-endian bytes in data/<n>, in order.
            for (int i = 0; i < initial.tensorCount(); i++) {
                try (InputStream in = zip.getInputStream(zip.getEntry("fmnist_cnn/data/" + i))) {
                    float[] saved = floats(ByteBuffer.wrap(in.readAllBytes()), initial.tensor(i).length);
                    assertThat(bits(initial.tensor(i))).as(CNN_TENSORS.get(i).name()).isEqualTo(bits(saved));
                }
            }
        }
    }

    @Test
    void weights_roundTripThroughTheBlockBitExactly_andAreWhatTheModuleComputesWith() throws Exception {
        try (TorchScriptModel ts = TorchScriptModel.load(CNN, IMAGE, Device.cpu());
             NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            Examples images = FashionMnist.test().select(new int[] {0, 1, 2, 3});
            float[] before = predict(ts, manager, images);

            ModelWeights changed = ts.initialWeights();
            Random random = new Random(7);
            for (int i = 0; i < changed.tensorCount(); i++) {
                for (int j = 0; j < changed.tensor(i).length; j++) {
                    changed.tensor(i)[j] += (float) random.nextGaussian() * 0.1f;
                }
            }
            WeightsCodec.write(ts.block(), changed);
            assertThat(WeightsCodec.read(ts.block(), ts.manifest()).toBytes()).isEqualTo(changed.toBytes());
            assertThat(predict(ts, manager, images)).isNotEqualTo(before);

            WeightsCodec.write(ts.block(), ts.initialWeights());
            assertThat(bits(predict(ts, manager, images))).isEqualTo(bits(before));
        }
    }

    /** DJL's gradient step on the TorchScript module equals PyTorch's own (sgd_step.bin, from make_fixtures.py). */
    @Test
    void oneSgdStep_matchesPyTorch() throws Exception {
        ByteBuffer golden = ByteBuffer.wrap(Files.readAllBytes(fixture("sgd_step.bin"))).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = floats(golden, 8 * 784);
        int[] y = new int[8];
        golden.asIntBuffer().get(y);
        golden.position(golden.position() + 4 * y.length);
        float pytorchLoss = golden.getFloat();
        try (TorchScriptModel ts = TorchScriptModel.load(CNN, IMAGE, Device.cpu());
             Model model = Model.newInstance("sgd", Device.cpu(), "PyTorch")) {
            model.setBlock(ts.block());
            try (Trainer trainer = model.newTrainer(config(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build()))) {
                trainer.initialize(new Shape(1, 1, 28, 28));
                NDManager m = trainer.getManager();
                float loss;
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    NDArray prediction = trainer.forward(new NDList(m.create(x, new Shape(8, 1, 28, 28)))).singletonOrThrow();
                    NDArray l = Loss.softmaxCrossEntropyLoss().evaluate(new NDList(m.create(y)), new NDList(prediction));
                    loss = l.getFloat();
                    gc.backward(l);
                }
                trainer.step();
                assertThat(loss).isCloseTo(pytorchLoss, within(1e-5f));
            }
            ModelWeights stepped = WeightsCodec.read(ts.block(), ts.manifest());
            ModelWeights initial = ts.initialWeights();
            for (int i = 0; i < stepped.tensorCount(); i++) {
                float[] expected = floats(golden, stepped.tensor(i).length);
                assertThat(stepped.tensor(i)).as(CNN_TENSORS.get(i).name())
                        .containsExactly(expected, within(2e-6f))
                        .isNotEqualTo(initial.tensor(i));
            }
            assertThat(golden.hasRemaining()).isFalse();
        }
    }

    @Test
    void oneEpochOnFashionMnist_lowersHeldOutLossAndRaisesAccuracy() throws Exception {
        Examples train = FashionMnist.train().select(range(0, 600));
        Examples heldOut = FashionMnist.test().select(range(0, 1000));
        try (TorchScriptModel ts = TorchScriptModel.load(CNN, IMAGE, Device.cpu());
             Model model = Model.newInstance("fmnist", Device.cpu(), "PyTorch")) {
            model.setBlock(ts.block());
            try (Trainer trainer = model.newTrainer(config(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.005f)).build()))) {
                trainer.initialize(new Shape(1, 1, 28, 28));
                double[] before = evaluate(trainer, heldOut);
                for (int from = 0; from < train.size(); from += 32) {
                    Examples batch = train.select(range(from, Math.min(train.size(), from + 32)));
                    try (NDManager m = trainer.getManager().newSubManager();
                         GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray prediction = trainer.forward(new NDList(images(m, batch))).singletonOrThrow();
                        gc.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(m.create(batch.labels())), new NDList(prediction)));
                    }
                    trainer.step();
                }
                double[] after = evaluate(trainer, heldOut);
                assertThat(after[0]).as("held-out loss, before %s", before[0]).isLessThan(before[0] * 0.8);
                assertThat(after[1]).as("held-out accuracy, before %s", before[1]).isGreaterThan(before[1] + 0.2);
            }
            assertThat(WeightsCodec.read(ts.block(), ts.manifest()).toBytes()).isNotEqualTo(ts.initialWeights().toBytes());
        }
    }

    @Test
    void moduleSavedInEvalMode_trainsInTrainingMode() throws Exception {
        try (TorchScriptModel ts = TorchScriptModel.load(fixture("dropout_eval.pt"), IMAGE, Device.cpu());
             Model model = Model.newInstance("dropout", Device.cpu(), "PyTorch")) {
            model.setBlock(ts.block());
            try (Trainer trainer = model.newTrainer(config(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build()))) {
                trainer.initialize(new Shape(1, 1, 28, 28));
                NDArray x = trainer.getManager().ones(new Shape(1, 1, 28, 28));
                float[] a;
                float[] b;
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    a = trainer.forward(new NDList(x)).singletonOrThrow().toFloatArray();
                    b = trainer.forward(new NDList(x)).singletonOrThrow().toFloatArray();
                }
                assertThat(a).as("dropout is active while training").isNotEqualTo(b);
                float[] c = trainer.evaluate(new NDList(x)).singletonOrThrow().toFloatArray();
                float[] d = trainer.evaluate(new NDList(x)).singletonOrThrow().toFloatArray();
                assertThat(c).as("dropout is off when evaluating").isEqualTo(d);
                // a trainer's rounds alternate: train, evaluate, train again. A batch of 32, so that dropout cannot
                // drop every unit of every example at once (with one example it sometimes did, and DJL refuses a
                // step whose gradients are all zero).
                NDArray batch = trainer.getManager().ones(new Shape(32, 1, 28, 28));
                NDArray y = trainer.getManager().create(new int[32]).add(1);
                for (int i = 0; i < 3; i++) {
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray prediction = trainer.forward(new NDList(batch)).singletonOrThrow();
                        gc.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(y), new NDList(prediction)));
                    }
                    trainer.step();
                    assertThat(trainer.evaluate(new NDList(x)).singletonOrThrow().toFloatArray()).isNotEqualTo(c);
                }
            }
        }
    }

    @Test
    void tracedModule_trainsLikePyTorch() throws Exception {
        Examples batch = FashionMnist.train().select(range(0, 64));
        try (TorchScriptModel ts = TorchScriptModel.load(fixture("traced.pt"), IMAGE, Device.cpu());
             Model model = Model.newInstance("traced", Device.cpu(), "PyTorch")) {
            assertThat(ts.manifest().tensors()).containsExactly(TensorSpec.of("1.weight", 4, 784),
                    TensorSpec.of("1.bias", 4), TensorSpec.of("3.weight", 10, 4), TensorSpec.of("3.bias", 10));
            model.setBlock(ts.block());
            try (Trainer trainer = model.newTrainer(config(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build()))) {
                trainer.initialize(new Shape(1, 1, 28, 28));
                double first = evaluate(trainer, batch)[0];
                for (int step = 0; step < 10; step++) {
                    try (NDManager m = trainer.getManager().newSubManager();
                         GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray prediction = trainer.forward(new NDList(images(m, batch))).singletonOrThrow();
                        gc.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(m.create(batch.labels())), new NDList(prediction)));
                    }
                    trainer.step();
                }
                // PyTorch 1.13.1, same module, batch and 10 SGD steps (torch.optim.SGD, lr 0.1): 2.4330943 -> 2.0041728
                assertThat(first).isCloseTo(2.4330943, within(1e-5));
                assertThat(evaluate(trainer, batch)[0]).isCloseTo(2.0041728, within(1e-4));
            }
        }
    }

    @Test
    void moduleWithBuffers_isRefusedNamingThemAndTheAlternative() throws Exception {
        assertThatThrownBy(() -> TorchScriptModel.load(fixture("batchnorm.pt"), IMAGE, Device.cpu()))
                .isInstanceOf(TorchScriptException.class)
                .hasMessageContaining("batchnorm.pt")
                .hasMessageContaining("BatchNorm2d.running_mean, BatchNorm2d.running_var, BatchNorm2d.num_batches_tracked")
                .hasMessageContaining("export its weights as safetensors");
    }

    @Test
    void float64Parameter_isRefusedNamingIt() throws Exception {
        assertThatThrownBy(() -> TorchScriptModel.load(fixture("float64.pt"), new int[] {4}, Device.cpu()))
                .isInstanceOf(TorchScriptException.class)
                .hasMessageContaining("parameter weight is float64")
                .hasMessageContaining("float32 parameters only");
    }

    @Test
    void stateDict_isNotTorchScript() throws Exception {
        assertThatThrownBy(() -> TorchScriptModel.load(fixture("state_dict.pt"), new int[] {4}, Device.cpu()))
                .isInstanceOf(TorchScriptException.class)
                .hasMessageContaining("not a TorchScript archive")
                .hasMessageContaining("torch.jit.save");
    }

    @Test
    void notAZip_isNotTorchScript() throws Exception {
        Path text = Files.createTempFile("model", ".pt");
        try {
            Files.writeString(text, "not a model");
            assertThatThrownBy(() -> TorchScriptModel.load(text, IMAGE, Device.cpu()))
                    .isInstanceOf(TorchScriptException.class).hasMessageContaining("not a TorchScript archive");
        } finally {
            Files.delete(text);
        }
    }

    @Test
    void inputShapeTheModuleRefuses_isNamed() {
        assertThatThrownBy(() -> TorchScriptModel.load(CNN, new int[] {3, 32, 32}, Device.cpu()))
                .isInstanceOf(TorchScriptException.class)
                .hasMessageContaining("refuses a batch of input shape (1, 3, 32, 32)");
    }

    @Test
    void missingFile_andBadShape_areRefused() {
        assertThatThrownBy(() -> TorchScriptModel.load(Path.of("no-such.pt"), IMAGE, Device.cpu()))
                .isInstanceOf(TorchScriptException.class).hasMessageContaining("no-such.pt: no such file");
        assertThatThrownBy(() -> TorchScriptModel.load(CNN, new int[] {1, 0, 28}, Device.cpu()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 0, 28]");
    }

    private static DefaultTrainingConfig config(Optimizer optimizer) {
        return new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(optimizer)
                .optDevices(new Device[] {Device.cpu()});
    }

    private static float[] predict(TorchScriptModel ts, NDManager manager, Examples images) {
        try (NDManager m = manager.newSubManager()) {
            return ts.block().forward(new ParameterStore(m, false), new NDList(images(m, images)), false)
                    .singletonOrThrow().toFloatArray();
        }
    }

    /** Mean loss and accuracy. */
    private static double[] evaluate(Trainer trainer, Examples data) {
        try (NDManager m = trainer.getManager().newSubManager()) {
            NDArray prediction = trainer.evaluate(new NDList(images(m, data))).singletonOrThrow();
            NDArray labels = m.create(data.labels());
            double loss = Loss.softmaxCrossEntropyLoss().evaluate(new NDList(labels), new NDList(prediction)).getFloat();
            long correct = prediction.argMax(1).toType(DataType.INT32, false).eq(labels).sum().getLong();
            return new double[] {loss, (double) correct / data.size()};
        }
    }

    private static NDArray images(NDManager m, Examples data) {
        return m.create(data.features(), new Shape(data.size(), 1, 28, 28));
    }

    private static int[] range(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    private static float[] floats(ByteBuffer bytes, int count) {
        float[] f = new float[count];
        bytes.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        bytes.position(bytes.position() + 4 * count);
        return f;
    }

    private static int[] bits(float[] values) {
        int[] b = new int[values.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = Float.floatToRawIntBits(values[i]);
        }
        return b;
    }
}
