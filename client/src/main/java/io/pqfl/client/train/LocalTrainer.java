package io.pqfl.client.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local training with DJL's PyTorch engine: loads the global model into a fresh trainer, runs the round's
 * epochs over the client's examples (shuffled per epoch), optionally adds FedProx's proximal term
 * {@code mu/2 * ||w - w_global||^2}, and evaluates on the client's held-out split.
 */
public final class LocalTrainer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalTrainer.class);

    /**
     * DJL's PyTorch engine allows one gradient collector per process, so agents sharing a JVM (a simulation)
     * take turns to train; separate processes train in parallel.
     */
    private static final java.util.concurrent.locks.ReentrantLock AUTOGRAD = new java.util.concurrent.locks.ReentrantLock();

    private final ModelCatalog architecture;
    private final Device device;
    private final Model model;

    public LocalTrainer(ModelCatalog architecture, Device device) {
        this.architecture = architecture;
        this.device = device;
        this.model = Model.newInstance(architecture.id(), device);
        model.setBlock(ModelFactory.build(architecture));
    }

    /** {@code auto} picks a GPU when DJL can use one, else the CPU; {@code cpu} and {@code gpu} force it. */
    public static Device chooseDevice(String wanted) {
        String w = wanted == null ? "auto" : wanted.toLowerCase(Locale.ROOT);
        int gpus = Engine.getInstance().getGpuCount();
        return switch (w) {
            case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                if (gpus == 0) {
                    throw new IllegalArgumentException("--device gpu: no GPU is usable by DJL's PyTorch engine here");
                }
                yield Device.gpu();
            }
            default -> throw new IllegalArgumentException("unknown device '" + wanted + "': use auto, cpu or gpu");
        };
    }

    public Device device() {
        return device;
    }

    private Trainer newTrainer(TrainingConfig cfg) {
        Tracker lr = Tracker.fixed(cfg.learningRate());
        Optimizer optimizer = switch (cfg.optimizer().toLowerCase(Locale.ROOT)) {
            case "sgd" -> Optimizer.sgd().setLearningRateTracker(lr).build();
            case "adam" -> Optimizer.adam().optLearningRateTracker(lr).build();
            default -> throw new IllegalArgumentException("unknown optimizer '" + cfg.optimizer() + "': use adam or sgd");
        };
        Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(optimizer).optDevices(new Device[] {device}));
        trainer.initialize(ModelFactory.INPUT);
        return trainer;
    }

    /**
     * Trains from {@code global} and returns the new weights and metrics. {@code progress} receives the
     * number of examples processed so far.
     */
    public TrainResult train(ModelWeights global, Examples train, Examples eval, TrainingConfig cfg, long seed,
                             LongConsumer progress) {
        requireImages(train);
        AUTOGRAD.lock();
        try {
            return trainLocked(global, train, eval, cfg, seed, progress);
        } finally {
            AUTOGRAD.unlock();
        }
    }

    private TrainResult trainLocked(ModelWeights global, Examples train, Examples eval, TrainingConfig cfg, long seed,
                                    LongConsumer progress) {
        long start = System.nanoTime();
        try (Trainer trainer = newTrainer(cfg)) {
            WeightsCodec.write(model.getBlock(), global);
            List<NDArray> anchors = new ArrayList<>();
            NDManager anchorManager = trainer.getManager().newSubManager();
            if (cfg.proximalMu() > 0) {
                for (int i = 0; i < global.tensorCount(); i++) {
                    long[] shape = global.manifest().tensors().get(i).shape().stream().mapToLong(Integer::longValue).toArray();
                    anchors.add(anchorManager.create(global.tensor(i), new Shape(shape)));
                }
            }
            Loss loss = Loss.softmaxCrossEntropyLoss();
            Random random = new Random(seed);
            double lossSum = 0;
            long lossCount = 0;
            long done = 0;
            for (int epoch = 0; epoch < cfg.localEpochs(); epoch++) {
                int[] order = permutation(train.size(), random);
                for (int from = 0; from < order.length; from += cfg.batchSize()) {
                    int to = Math.min(order.length, from + cfg.batchSize());
                    try (NDManager batch = trainer.getManager().newSubManager()) {
                        NDArray x = images(batch, train, order, from, to);
                        NDArray y = labels(batch, train, order, from, to);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray prediction = trainer.forward(new NDList(x)).singletonOrThrow();
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
                    progress.accept(done);
                }
            }
            anchorManager.close();
            ModelWeights trained = WeightsCodec.read(model.getBlock(), global.manifest());
            long millis = (System.nanoTime() - start) / 1_000_000;
            double[] ev = eval == null || eval.size() == 0 ? new double[] {Double.NaN, Double.NaN} : evaluate(trainer, eval, loss);
            log.info("Trained {} on {} examples x {} epochs in {} ms on {}: loss {}, held-out accuracy {}",
                    architecture.id(), train.size(), cfg.localEpochs(), millis, device,
                    String.format(Locale.ROOT, "%.4f", lossSum / Math.max(1, lossCount)),
                    String.format(Locale.ROOT, "%.4f", ev[1]));
            return new TrainResult(trained, train.size(), lossSum / Math.max(1, lossCount), ev[0], ev[1],
                    eval == null ? 0 : eval.size(), millis);
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

    /** Loss and accuracy of {@code weights} on {@code data}. */
    public double[] evaluate(ModelWeights weights, Examples data) {
        requireImages(data);
        try (Trainer trainer = newTrainer(TrainingConfig.defaults())) {
            WeightsCodec.write(model.getBlock(), weights);
            return evaluate(trainer, data, Loss.softmaxCrossEntropyLoss());
        }
    }

    private static double[] evaluate(Trainer trainer, Examples data, Loss loss) {
        int[] order = permutation(data.size(), null);
        double lossSum = 0;
        long correct = 0;
        for (int from = 0; from < order.length; from += 1000) {
            int to = Math.min(order.length, from + 1000);
            try (NDManager batch = trainer.getManager().newSubManager()) {
                NDArray x = images(batch, data, order, from, to);
                NDArray y = labels(batch, data, order, from, to);
                NDArray prediction = trainer.evaluate(new NDList(x)).singletonOrThrow();
                lossSum += loss.evaluate(new NDList(y), new NDList(prediction)).getFloat() * (to - from);
                correct += prediction.argMax(1).toType(ai.djl.ndarray.types.DataType.INT32, false)
                        .eq(y).sum().getLong();
            }
        }
        return new double[] {lossSum / data.size(), (double) correct / data.size()};
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

    private static NDArray images(NDManager m, Examples data, int[] order, int from, int to) {
        int f = data.featureCount();
        float[] buffer = new float[(to - from) * f];
        for (int i = from; i < to; i++) {
            System.arraycopy(data.features(), order[i] * f, buffer, (i - from) * f, f);
        }
        return m.create(buffer, new Shape(to - from, 1, 28, 28));
    }

    private static NDArray labels(NDManager m, Examples data, int[] order, int from, int to) {
        int[] buffer = new int[to - from];
        for (int i = from; i < to; i++) {
            buffer[i - from] = data.labels()[order[i]];
        }
        return m.create(buffer);
    }

    private static void requireImages(Examples data) {
        if (data.featureCount() != 784) {
            throw new IllegalArgumentException("the catalogue's models take 28x28 images (784 features); the data has "
                    + data.featureCount());
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
