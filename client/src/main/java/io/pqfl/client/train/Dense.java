package io.pqfl.client.train;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import io.pqfl.trainer.TrainerOptions;

/**
 * The built-in model for data of any shape (a table's rows, small images): the example flattened, one hidden layer
 * of {@code hidden} units with ReLU (none when {@code hidden} is 0: a linear or logistic model), and {@code outputs}
 * units out (the classes; 1 for a binary or regression task). The DJL trainer's {@code model=dense} (option
 * {@code hidden}, default 64) and {@code model=linear} build it, sized from the client's data.
 */
public final class Dense implements BlockFactory {
    private final Shape input;
    private final int hidden;
    private final int outputs;

    public Dense(Shape input, int hidden, int outputs) {
        if (hidden < 0 || outputs < 1) {
            throw new IllegalArgumentException("a dense model needs hidden >= 0 and at least one output, got hidden "
                    + hidden + ", outputs " + outputs);
        }
        this.input = input;
        this.hidden = hidden;
        this.outputs = outputs;
    }

    /** A dense model for examples of {@code shape} with {@code outputs} units out: {@code hidden} 0 is linear. */
    public static DjlModel model(int[] shape, int hidden, int outputs, TrainerOptions options)
            throws io.pqfl.trainer.TrainerException {
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[i];
        }
        return DjlModel.fromFactory(new Dense(new Shape(dims), hidden, outputs), options);
    }

    @Override
    public Block build(TrainerOptions options) {
        SequentialBlock block = new SequentialBlock().add(Blocks.batchFlattenBlock(input.size()));
        if (hidden > 0) {
            block.add(Linear.builder().setUnits(hidden).build()).add(Activation.reluBlock());
        }
        return block.add(Linear.builder().setUnits(outputs).build());
    }

    @Override
    public Shape inputShape() {
        return input;
    }
}
