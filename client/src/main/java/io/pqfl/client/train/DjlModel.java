package io.pqfl.client.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * A model the {@link DjlTrainer} can train: a DJL block, the manifest its parameters map to (in DJL's parameter
 * order; {@link WeightsCodec} checks every shape), and the shape of one example without the batch dimension.
 * Sources: the built-in catalogue ({@link #builtIn}), a user's {@link BlockFactory} ({@link #fromFactory}); a
 * TorchScript module is a third (it provides its block and manifest the same way).
 */
public interface DjlModel {
    /** The block to train; the trainer initialises it and owns it from then on. */
    Block block();

    /** The tensors of the block's parameters, in DJL's order. */
    ModelManifest manifest();

    /** One example's shape, without the batch dimension. */
    Shape inputShape();

    /**
     * Weights to start a new federation from.
     *
     * @throws TrainerException when this model has none of its own
     */
    default ModelWeights initialWeights(long seed) throws TrainerException {
        throw new TrainerException("the model " + manifest().architecture() + " has no initial weights of its own");
    }

    /** A built-in architecture: its catalogue manifest, its block, 28x28 grey images, seeded Glorot initial weights. */
    static DjlModel builtIn(ModelCatalog model) {
        Objects.requireNonNull(model, "model");
        Block block = ModelFactory.build(model);
        return new DjlModel() {
            @Override
            public Block block() {
                return block;
            }

            @Override
            public ModelManifest manifest() {
                return model.manifest();
            }

            @Override
            public Shape inputShape() {
                return new Shape(1, 28, 28);
            }

            @Override
            public ModelWeights initialWeights(long seed) {
                return model.initialWeights(seed);
            }
        };
    }

    /**
     * A user's block: built twice by {@code factory}, once to initialise and read its parameters (the manifest and
     * the initial weights, with DJL's random seed set to {@code options.seed()}), once to train.
     *
     * @throws TrainerException when the factory fails or its block cannot be initialised for its input shape
     */
    static DjlModel fromFactory(BlockFactory factory, TrainerOptions options) throws TrainerException {
        String label = factory.getClass().getSimpleName().toLowerCase(Locale.ROOT);
        Shape input;
        Block block;
        ModelManifest manifest;
        ModelWeights initial;
        try {
            input = Objects.requireNonNull(factory.inputShape(), "inputShape()");
            Block probe = Objects.requireNonNull(factory.build(options), "build()");
            try (NDManager manager = NDManager.newBaseManager()) {
                Engine.getInstance().setRandomSeed((int) options.seed());
                probe.initialize(manager, DataType.FLOAT32, batchOf(1, input));
                List<TensorSpec> tensors = new ArrayList<>();
                List<float[]> values = new ArrayList<>();
                Set<String> names = new HashSet<>();
                for (Pair<String, Parameter> p : probe.getParameters()) {
                    long[] shape = p.getValue().getArray().getShape().getShape();
                    int[] dims = new int[Math.max(1, shape.length)];
                    dims[0] = 1;
                    for (int i = 0; i < shape.length; i++) {
                        dims[i] = Math.toIntExact(shape[i]);
                    }
                    tensors.add(TensorSpec.of(tensorName(p.getKey(), names), dims));
                    values.add(p.getValue().getArray().toType(DataType.FLOAT32, false).toFloatArray());
                }
                if (tensors.isEmpty()) {
                    throw new TrainerException(factory.getClass().getName() + " builds a block without parameters");
                }
                manifest = new ModelManifest(label, tensors);
                initial = ModelWeights.of(manifest, values.toArray(new float[0][]));
            }
            block = Objects.requireNonNull(factory.build(options), "build()");
        } catch (TrainerException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TrainerException("the block of " + factory.getClass().getName() + " cannot be built: " + e, e);
        }
        return new DjlModel() {
            @Override
            public Block block() {
                return block;
            }

            @Override
            public ModelManifest manifest() {
                return manifest;
            }

            @Override
            public Shape inputShape() {
                return input;
            }

            @Override
            public ModelWeights initialWeights(long seed) {
                return initial.copy();
            }
        };
    }

    /** {@code (batch, example...)}. */
    static Shape batchOf(long batch, Shape example) {
        return new Shape(batch).addAll(example);
    }

    /**
     * A DJL parameter name as a tensor name: characters outside {@code [A-Za-z0-9_.-]} become {@code _}, at most 128
     * characters, and a suffix {@code _2}, {@code _3}... when two names would collide.
     */
    static String tensorName(String djlName, Set<String> taken) {
        String base = djlName.replaceAll("[^A-Za-z0-9_.-]", "_");
        if (base.isEmpty()) {
            base = "tensor";
        }
        base = base.length() > 120 ? base.substring(0, 120) : base;
        String name = base;
        for (int i = 2; !taken.add(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }
}
