package io.pqfl.client.train;

import ai.djl.Device;
import io.pqfl.client.data.DataException;
import io.pqfl.client.data.DataSpec;
import io.pqfl.client.data.Datasets;
import io.pqfl.client.data.Examples;
import io.pqfl.client.data.Partition;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The {@code djl} trainer: a {@link DjlTrainer} over the client's own data. Options (all optional):
 * <ul>
 *   <li>{@code model} — a built-in architecture ({@code mlp}, {@code cnn}, {@code mlp-large}; default {@code mlp});
 *   <li>{@code block-factory} — instead, the class name of a {@link BlockFactory} (class path or trainer jar);
 *   <li>{@code torchscript} — instead, a TorchScript {@code .pt} file;
 *   <li>{@code task} — {@code classification} (default), {@code binary}, {@code regression}, {@code regression-l1};
 *   <li>{@code data}, {@code data-format}, {@code csv-scale} — where the examples are and how to read them (default:
 *       Fashion-MNIST in {@value #DEFAULT_DATA});
 *   <li>{@code partition} — which of them are this client's ({@code all}, {@code FROM-TO}, {@code K/N},
 *       {@code @FILE}; default {@code all});
 *   <li>{@code eval-fraction} — the share held out for evaluation, the last examples of the partition (default 0.1).
 * </ul>
 * {@code client-index} and {@code clients}, which {@code pqfl simulate} passes to every trainer, are accepted and
 * not used. The device and seed come from {@link TrainerOptions#device()} and {@link TrainerOptions#seed()}.
 */
public final class DjlTrainerFactory implements TrainerFactory {
    /** The name users choose it by. */
    public static final String NAME = "djl";
    public static final String DEFAULT_DATA = "/usr/share/datasets/fashion-mnist";
    static final Set<String> OPTIONS = Set.of("model", "block-factory", "torchscript", "task", "data", "data-format",
            "csv-scale", "partition", "eval-fraction", "client-index", "clients");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "DJL (PyTorch engine): built-in models, a DJL Block factory, or TorchScript";
    }

    @Override
    public Trainer create(TrainerOptions options) throws TrainerException {
        options.rejectUnknown(OPTIONS);
        TaskKind task = task(options);
        double evalFraction = options.getDouble("eval-fraction", 0.1);
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new TrainerException("trainer option 'eval-fraction' must be in [0, 1), got " + evalFraction);
        }
        Device device = DjlTrainer.chooseDevice(options.device());
        DjlModel model = model(options);
        Examples all;
        try {
            all = Partition.apply(load(options), options.get("partition", "all"));
        } catch (DataException e) {
            throw new TrainerException(e.getMessage(), e);
        }
        int evalCount = (int) Math.floor(all.size() * evalFraction);
        if (all.size() - evalCount < 1) {
            throw new TrainerException("no training examples left: " + all.size() + " examples, " + evalCount + " held out");
        }
        Examples train = all.range(0, all.size() - evalCount);
        Examples eval = evalCount == 0 ? null : all.range(all.size() - evalCount, all.size());
        return new DjlTrainer(model, task, train, eval, device);
    }

    /** The task option, {@code classification} by default. */
    public static TaskKind task(TrainerOptions options) throws TrainerException {
        try {
            return TaskKind.parse(options.get("task", TaskKind.CLASSIFICATION.id()));
        } catch (IllegalArgumentException e) {
            throw new TrainerException(e.getMessage(), e);
        }
    }

    /**
     * The model the options name: {@code block-factory}, {@code torchscript} or the built-in {@code model}; at most one.
     */
    public static DjlModel model(TrainerOptions options) throws TrainerException {
        int sources = (options.has("model") ? 1 : 0) + (options.has("block-factory") ? 1 : 0)
                + (options.has("torchscript") ? 1 : 0);
        if (sources > 1) {
            throw new TrainerException("give one of the trainer options model, block-factory and torchscript, not several");
        }
        if (options.has("block-factory")) {
            return DjlModel.fromFactory(blockFactory(options.get("block-factory", null)), options);
        }
        if (options.has("torchscript")) {
            Path file = options.getPath("torchscript", null);
            throw new TrainerException("TorchScript models (" + file + ") are not supported by this build of the DJL "
                    + "trainer yet; use a built-in model or a block-factory");
        }
        try {
            return DjlModel.builtIn(ModelCatalog.byId(options.get("model", ModelCatalog.MLP.id())));
        } catch (IllegalArgumentException e) {
            throw new TrainerException(e.getMessage(), e);
        }
    }

    /** Reads the examples the options name: the one place the DJL trainer reads data. */
    static Examples load(TrainerOptions options) throws TrainerException, DataException {
        Path data = options.getPath("data", Path.of(DEFAULT_DATA));
        float scale = (float) options.getDouble("csv-scale", 1);
        DataSpec spec;
        try {
            spec = new DataSpec(data, options.get("data-format", "auto"), scale);
        } catch (IllegalArgumentException e) {
            throw new TrainerException(e.getMessage(), e);
        }
        return Datasets.load(spec);
    }

    /**
     * Instantiates the named {@link BlockFactory} from the thread's context class loader (the trainer jar's, when
     * {@code --trainer-jar} is given), else this class's loader.
     */
    static BlockFactory blockFactory(String className) throws TrainerException {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        Class<?> type;
        try {
            type = Class.forName(className, true, context != null ? context : DjlTrainerFactory.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new TrainerException("block factory class " + className + " not found (put it on the class path or in "
                    + "--trainer-jar)", e);
        }
        if (!BlockFactory.class.isAssignableFrom(type)) {
            throw new TrainerException(className + " does not implement " + BlockFactory.class.getName());
        }
        try {
            return (BlockFactory) type.getConstructor().newInstance();
        } catch (NoSuchMethodException | IllegalAccessException e) {
            throw new TrainerException(className + " needs a public no-argument constructor", e);
        } catch (InvocationTargetException e) {
            throw new TrainerException(className + " failed to start: " + e.getCause(), e.getCause());
        } catch (InstantiationException e) {
            throw new TrainerException(className + " cannot be instantiated (abstract?)", e);
        }
    }
}
