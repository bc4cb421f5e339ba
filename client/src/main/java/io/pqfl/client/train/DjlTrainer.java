package io.pqfl.client.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.TrainerException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link io.pqfl.trainer.Trainer}: local training with DJL's PyTorch engine. Each fit loads the global
 * model into the block, runs the round's epochs over the client's examples (reshuffled each epoch from the context's
 * seed), optionally adds FedProx's proximal term {@code mu/2 * ||w - w_global||^2}, and then measures the new
 * weights on the client's held-out examples ({@code eval_*} metrics). The loss and metrics follow the
 * {@link TaskKind}.
 *
 * <p>The model comes from a {@link DjlModel} (the built-in catalogue, a user's {@link BlockFactory}, a TorchScript
 * module). Examples whose per-example shape differs from the model's input shape are reshaped when they hold the same
 * number of values (784 CSV columns as a 1x28x28 image) and refused otherwise, naming both shapes.
 */
public final class DjlTrainer implements io.pqfl.trainer.Trainer {
    private static final Logger log = LoggerFactory.getLogger(DjlTrainer.class);
    private static final int EVAL_BATCH = 1000;

    /**
     * DJL's PyTorch engine allows one gradient collector per process, so trainers sharing a JVM (a simulation)
     * take turns to train; separate processes train in parallel.
     */
    private static final ReentrantLock AUTOGRAD = new ReentrantLock();

    private final DjlModel source;
    private final TaskKind task;
    private final Examples train;
    private final Examples eval;
    private final Device device;
    private final Model model;
    private final Shape input;

    /**
     * @param train the client's training examples, or null for a trainer that only evaluates
     * @param eval held-out examples for {@link #evaluate} and the {@code eval_*} metrics of a fit, or null for none
     * @throws TrainerException when the examples do not fit the model or the task
     */
    public DjlTrainer(DjlModel source, TaskKind task, Examples train, Examples eval, Device device) throws TrainerException {
        this.source = Objects.requireNonNull(source, "source");
        this.task = Objects.requireNonNull(task, "task");
        this.device = Objects.requireNonNull(device, "device");
        this.input = source.inputShape();
        this.train = train == null ? null : fitted(train, "training");
        this.eval = eval == null || eval.size() == 0 ? null : fitted(eval, "held-out");
        this.model = Model.newInstance(source.manifest().architecture(), device);
        model.setBlock(source.block());
    }

    /** A trainer that only evaluates, on {@code data} (a simulation's test set). */
    public static DjlTrainer evaluator(DjlModel source, TaskKind task, Examples data, Device device) throws TrainerException {
        return new DjlTrainer(source, task, null, data, device);
    }

    /** {@code auto} picks a GPU when DJL can use one, else the CPU; {@code cpu} and {@code gpu} force it. */
    public static Device chooseDevice(String wanted) throws TrainerException {
        String w = wanted == null ? "auto" : wanted.toLowerCase(Locale.ROOT);
        int gpus = Engine.getInstance().getGpuCount();
        return switch (w) {
            case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                if (gpus == 0) {
                    throw new TrainerException("device gpu: no GPU is usable by DJL's PyTorch engine here");
                }
                yield Device.gpu();
            }
            default -> throw new TrainerException("unknown device '" + wanted + "': use auto, cpu or gpu");
        };
    }

    private Examples fitted(Examples data, String what) throws TrainerException {
        int[] modelShape = Arrays.stream(input.getShape()).mapToInt(Math::toIntExact).toArray();
        if (data.featureCount() != input.size()) {
            throw new TrainerException("the " + what + " examples have shape " + Arrays.toString(data.shape()) + " ("
                    + data.featureCount() + " values), but the model " + source.manifest().architecture() + " takes "
                    + Arrays.toString(modelShape) + " (" + input.size() + " values)");
        }
        if (task.regression() != data.isRegression()) {
            throw new TrainerException("the task is " + task.id() + ", but the " + what + " examples have "
                    + (data.isRegression() ? "real-valued targets (use --task regression)" : "class labels"));
        }
        if (task == TaskKind.BINARY) {
            for (int label : data.labels()) {
                if (label != 0 && label != 1) {
                    throw new TrainerException("the task is binary, but the " + what + " examples have label " + label
                            + " (binary labels are 0 and 1)");
                }
            }
        }
        return Arrays.equals(data.shape(), modelShape) ? data : data.reshaped(modelShape);
    }

    public Device device() {
        return device;
    }

    public TaskKind task() {
        return task;
    }

    /** How many examples a fit trains on. */
    public int trainExamples() {
        return train == null ? 0 : train.size();
    }

    /** How many held-out examples {@link #evaluate} measures on. */
    public int evalExamples() {
        return eval == null ? 0 : eval.size();
    }

    @Override
    public ModelManifest manifest() {
        return source.manifest();
    }

    @Override
    public ModelWeights initialWeights(long seed) throws TrainerException {
        return source.initialWeights(seed);
    }

    private Trainer newTrainer(TrainingConfig cfg) throws TrainerException {
        Tracker lr = Tracker.fixed(cfg.learningRate());
        Optimizer optimizer = switch (cfg.optimizer().toLowerCase(Locale.ROOT)) {
            case "sgd" -> Optimizer.sgd().setLearningRateTracker(lr).build();
            case "adam" -> Optimizer.adam().optLearningRateTracker(lr).build();
            default -> throw new TrainerException("unknown optimizer '" + cfg.optimizer() + "': use adam or sgd");
        };
        Trainer trainer = model.newTrainer(new DefaultTrainingConfig(task.loss())
                .optOptimizer(optimizer).optDevices(new Device[] {device}));
        trainer.initialize(DjlModel.batchOf(1, input));
        return trainer;
    }

    @Override
    public FitResult fit(ModelWeights global, TrainContext context) throws TrainerException {
        if (train == null || train.size() == 0) {
            throw new TrainerException("this trainer has no training examples");
        }
        AUTOGRAD.lock();
        try {
            return fitLocked(global, context);
        } finally {
            AUTOGRAD.unlock();
        }
    }

    private FitResult fitLocked(ModelWeights global, TrainContext context) throws TrainerException {
        TrainingConfig cfg = context.config();
        long start = System.nanoTime();
        long total = (long) train.size() * cfg.localEpochs();
        try (Trainer trainer = newTrainer(cfg);
             // Every array made from here to the end of the fit is freed when it ends, the optimizer's state
             // included: DJL's Adam detaches its moments from every manager, so closing the trainer (or even the
             // model) left ~2 x the model's size of native memory behind per fit. The parameters were made before.
             NDScope fitScope = new NDScope()) {
            WeightsCodec.write(model.getBlock(), global);
            List<NDArray> anchors = new ArrayList<>();
            NDManager anchorManager = trainer.getManager().newSubManager();
            if (cfg.proximalMu() > 0) {
                for (int i = 0; i < global.tensorCount(); i++) {
                    long[] shape = global.manifest().tensors().get(i).shape().stream().mapToLong(Integer::longValue).toArray();
                    anchors.add(anchorManager.create(global.tensor(i), new Shape(shape)));
                }
            }
            Loss loss = task.loss();
            Random random = new Random(context.seed());
            double lossSum = 0;
            long lossCount = 0;
            long done = 0;
            for (int epoch = 0; epoch < cfg.localEpochs(); epoch++) {
                int[] order = permutation(train.size(), random);
                for (int from = 0; from < order.length; from += cfg.batchSize()) {
                    int to = Math.min(order.length, from + cfg.batchSize());
                    try (NDManager batch = trainer.getManager().newSubManager()) {
                        NDArray x = features(batch, train, order, from, to);
                        NDArray y = targets(batch, train, order, from, to);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray prediction = shaped(trainer.forward(new NDList(x)).singletonOrThrow(), y);
                            NDArray l = loss.evaluate(new NDList(y), new NDList(prediction));
                            lossSum += l.getFloat() * (to - from);
                            lossCount += to - from;
                            if (cfg.proximalMu() > 0) {
                                l = l.add(proximal(anchors, cfg.proximalMu()));
                            }
                            gc.backward(l);
                        }
                        trainer.step();
                    }
                    done += to - from;
                    context.progress().examplesDone(done, total);
                }
            }
            anchorManager.close();
            ModelWeights trained = WeightsCodec.read(model.getBlock(), global.manifest());
            long millis = (System.nanoTime() - start) / 1_000_000;
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put(Metrics.LOSS, lossSum / Math.max(1, lossCount));
            metrics.put(Metrics.TRAIN_MILLIS, (double) millis);
            if (eval != null) {
                Measured m = measure(trainer, eval, loss);
                metrics.put(Metrics.EVAL_LOSS, m.loss());
                metrics.put(Metrics.EVAL_EXAMPLES, (double) eval.size());
                m.metrics().forEach((k, v) -> metrics.put("eval_" + k, v));
            }
            log.info("Trained {} ({}) on {} examples x {} epochs in {} ms on {}: loss {}, held-out {}",
                    manifest().architecture(), task.id(), train.size(), cfg.localEpochs(), millis, device,
                    String.format(Locale.ROOT, "%.4f", metrics.get(Metrics.LOSS)), eval == null ? "none" : metrics);
            return new FitResult(trained, train.size(), metrics);
        } catch (IllegalArgumentException e) {
            throw new TrainerException("training " + manifest().architecture() + " failed: " + e.getMessage(), e);
        }
    }

    private NDArray proximal(List<NDArray> anchors, float mu) {
        NDArray sum = null;
        int i = 0;
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray term = p.getValue().getArray().sub(anchors.get(i++)).square().sum();
            sum = sum == null ? term : sum.add(term);
        }
        return sum.mul(mu / 2);
    }

    /** Evaluates {@code weights} on the held-out examples; no examples held out is a result of 0 examples. */
    @Override
    public EvaluateResult evaluate(ModelWeights weights, TrainContext context) throws TrainerException {
        if (eval == null) {
            return new EvaluateResult(0, 0, Map.of());
        }
        try (Trainer trainer = newTrainer(context.config())) {
            WeightsCodec.write(model.getBlock(), weights);
            Measured m = measure(trainer, eval, task.loss());
            return new EvaluateResult(m.loss(), eval.size(), m.metrics());
        } catch (IllegalArgumentException e) {
            throw new TrainerException("evaluating " + manifest().architecture() + " failed: " + e.getMessage(), e);
        }
    }

    private record Measured(double loss, Map<String, Double> metrics) {
    }

    private Measured measure(Trainer trainer, Examples data, Loss loss) {
        int[] order = permutation(data.size(), null);
        double lossSum = 0;
        double correct = 0;
        double absSum = 0;
        double sqSum = 0;
        for (int from = 0; from < order.length; from += EVAL_BATCH) {
            int to = Math.min(order.length, from + EVAL_BATCH);
            try (NDManager batch = trainer.getManager().newSubManager()) {
                NDArray x = features(batch, data, order, from, to);
                NDArray y = targets(batch, data, order, from, to);
                NDArray prediction = shaped(trainer.evaluate(new NDList(x)).singletonOrThrow(), y);
                lossSum += loss.evaluate(new NDList(y), new NDList(prediction)).getFloat() * (to - from);
                switch (task) {
                    case CLASSIFICATION -> correct += prediction.argMax(1).toType(DataType.INT32, false).eq(y).sum().getLong();
                    case BINARY -> correct += prediction.gt(0).eq(y.gt(0.5f)).sum().getLong();
                    case REGRESSION, REGRESSION_L1 -> {
                        NDArray diff = prediction.sub(y);
                        absSum += diff.abs().sum().getFloat();
                        sqSum += diff.square().sum().getFloat();
                    }
                }
            }
        }
        int n = data.size();
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (String m : task.metrics()) {
            metrics.put(m, switch (m) {
                case Metrics.ACCURACY -> correct / n;
                case Metrics.MAE -> absSum / n;
                case Metrics.RMSE -> Math.sqrt(sqSum / n);
                default -> throw new IllegalStateException(m);
            });
        }
        return new Measured(lossSum / n, metrics);
    }

    /**
     * The prediction in the shape the loss expects: class scores as they are; one value per example (binary,
     * regression) as a column matching the targets. A model with another output size is a mistake named here.
     */
    private NDArray shaped(NDArray prediction, NDArray targets) {
        if (task == TaskKind.CLASSIFICATION) {
            return prediction;
        }
        if (prediction.size() != targets.size()) {
            throw new IllegalArgumentException("a " + task.id() + " model has one output per example, this one has "
                    + prediction.getShape() + " for a batch of " + targets.size());
        }
        return prediction.reshape(targets.getShape());
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        if (random != null) {
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
        }
        return p;
    }

    private NDArray features(NDManager m, Examples data, int[] order, int from, int to) {
        int f = data.featureCount();
        float[] buffer = new float[(to - from) * f];
        for (int i = from; i < to; i++) {
            System.arraycopy(data.features(), order[i] * f, buffer, (i - from) * f, f);
        }
        return m.create(buffer, DjlModel.batchOf(to - from, input));
    }

    /** Class indices (classification), 0/1 as floats (binary), or the real targets (regression), one per example. */
    private NDArray targets(NDManager m, Examples data, int[] order, int from, int to) {
        return switch (task) {
            case CLASSIFICATION -> {
                int[] buffer = new int[to - from];
                for (int i = from; i < to; i++) {
                    buffer[i - from] = data.labels()[order[i]];
                }
                yield m.create(buffer);
            }
            case BINARY, REGRESSION, REGRESSION_L1 -> {
                float[] buffer = new float[to - from];
                for (int i = from; i < to; i++) {
                    buffer[i - from] = task == TaskKind.BINARY ? data.labels()[order[i]] : data.targets()[order[i]];
                }
                yield m.create(buffer, new Shape(to - from, 1));
            }
        };
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return "DjlTrainer[" + manifest().architecture() + ", " + task.id() + ", " + (train == null ? 0 : train.size())
                + " training and " + (eval == null ? 0 : eval.size()) + " held-out examples, " + device + "]";
    }
}
