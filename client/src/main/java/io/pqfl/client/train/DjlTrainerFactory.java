package io.pqfl.client.train;

import ai.djl.Device;
import io.pqfl.client.data.DataException;
import io.pqfl.client.data.DataSpec;
import io.pqfl.client.data.Datasets;
import io.pqfl.client.data.Examples;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import io.pqfl.protocol.ModelWeights;
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
    static final Set<String> OPTIONS = options();

    private static Set<String> options() {
        Set<String> o = new java.util.HashSet<>(DataSpec.OPTION_KEYS);
        o.addAll(Set.of("model", "hidden", "block-factory", "torchscript", "input-shape", "task", "client-index", "clients"));
        return Set.copyOf(o);
    }

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
        Datasets.Split split;
        try {
            split = Datasets.loadSplit(dataSpec(options, task));
        } catch (DataException e) {
            throw new TrainerException(e.getMessage(), e);
        }
        if (split.train().size() < 1) {
            throw new TrainerException("no training examples left after holding out " + split.heldOut().size());
        }
        Examples train = split.train();
        Examples eval = split.heldOut().size() == 0 ? null : split.heldOut();
        DjlModel model = model(options, train);
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
        return model(options, null);
    }

    /**
     * The model the options name, sized from {@code data} for {@code model=dense} and {@code model=linear} (which need
     * it: the example shape in, the classes out, or one output for a binary or regression task).
     */
    public static DjlModel model(TrainerOptions options, Examples data) throws TrainerException {
        String name = options.get("model", ModelCatalog.MLP.id());
        if ((name.equals("dense") || name.equals("linear")) && !options.has("block-factory") && !options.has("torchscript")) {
            if (data == null) {
                throw new TrainerException("model=" + name + " is sized from the data, which is not known here");
            }
            TaskKind task = task(options);
            int outputs = task == TaskKind.CLASSIFICATION ? data.classes() : 1;
            if (task == TaskKind.CLASSIFICATION && outputs < 2) {
                throw new TrainerException("model=" + name + " for classification needs at least 2 classes; the data has "
                        + outputs + " (give --classes so every client numbers them alike)");
            }
            int hidden = name.equals("linear") ? 0 : options.getInt("hidden", 64);
            return Dense.model(data.shape(), hidden, outputs, options);
        }
        int sources = (options.has("model") ? 1 : 0) + (options.has("block-factory") ? 1 : 0)
                + (options.has("torchscript") ? 1 : 0);
        if (sources > 1) {
            throw new TrainerException("give one of the trainer options model, block-factory and torchscript, not several");
        }
        if (options.has("block-factory")) {
            return DjlModel.fromFactory(blockFactory(options.get("block-factory", null)), options);
        }
        if (options.has("torchscript")) {
            return torchScript(options);
        }
        try {
            return DjlModel.builtIn(ModelCatalog.byId(options.get("model", ModelCatalog.MLP.id())));
        } catch (IllegalArgumentException e) {
            throw new TrainerException(e.getMessage(), e);
        }
    }

    /**
     * A TorchScript module ({@code torchscript=FILE}) for one example of {@code input-shape} (e.g. {@code 1,28,28},
     * required: TorchScript does not say what it takes). The module stays loaded while its trainer lives (the block is
     * the module); each call loads its own copy, so every trainer trains its own.
     */
    static DjlModel torchScript(TrainerOptions options) throws TrainerException {
        Path file = options.getPath("torchscript", null);
        String shape = options.get("input-shape", null);
        if (shape == null) {
            throw new TrainerException("trainer option torchscript needs input-shape too (one example's shape without the "
                    + "batch dimension, e.g. input-shape=1,28,28)");
        }
        int[] dims;
        try {
            dims = java.util.Arrays.stream(shape.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new TrainerException("trainer option input-shape must be comma-separated integers, got '" + shape + "'");
        }
        TorchScriptModel ts;
        try {
            ts = TorchScriptModel.load(file, dims, DjlTrainer.chooseDevice(options.device()));
        } catch (TorchScriptException | IllegalArgumentException e) {
            throw new TrainerException(e.getMessage(), e);
        }
        ModelWeights initial = ts.initialWeights();
        return new DjlModel() {
            @Override
            public ai.djl.nn.Block block() {
                return ts.block();
            }

            @Override
            public io.pqfl.protocol.ModelManifest manifest() {
                return ts.manifest();
            }

            @Override
            public ai.djl.ndarray.types.Shape inputShape() {
                return ts.inputShape();
            }

            @Override
            public ModelWeights initialWeights(long seed) {
                return initial.copy();
            }
        };
    }

    /**
     * The data the options name ({@link DataSpec#fromOptions}; Fashion-MNIST by default, a tenth held out): the one
     * place the DJL trainer decides what it reads. A regression task reads targets, a classification task classes;
     * without an explicit {@code task}, the data decides (scikit-learn's layout says which it is).
     */
    public static DataSpec dataSpec(TrainerOptions options, TaskKind task) throws TrainerException {
        java.util.Map<String, String> values = new java.util.HashMap<>(options.values());
        values.putIfAbsent("eval-fraction", "0.1");
        DataSpec.Task dataTask = !options.has("task") ? null
                : task.regression() ? DataSpec.Task.REGRESSION : DataSpec.Task.CLASSIFICATION;
        try {
            return DataSpec.fromOptions(values, Path.of(DEFAULT_DATA), dataTask);
        } catch (IllegalArgumentException e) {
            throw new TrainerException("trainer options: " + e.getMessage(), e);
        }
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
