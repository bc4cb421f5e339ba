package io.pqfl.client.train;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import io.pqfl.client.model.ModelCatalog;

/**
 * Builds the DJL block for each built-in architecture ({@link ModelCatalog}). The block's parameters,
 * in DJL's order, are exactly the catalogue's tensors in order; {@link WeightsCodec} checks that.
 */
public final class ModelFactory {
    /** Every catalogue model takes 28x28 single-channel images. */
    public static final Shape INPUT = new Shape(1, 1, 28, 28);

    private ModelFactory() {
    }

    public static Block build(ModelCatalog model) {
        return switch (model) {
            case MLP -> new SequentialBlock()
                    .add(Blocks.batchFlattenBlock(784))
                    .add(Linear.builder().setUnits(128).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(10).build());
            case CNN -> new SequentialBlock()
                    .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(32).build())
                    .add(Activation.reluBlock())
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(64).build())
                    .add(Activation.reluBlock())
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(Blocks.batchFlattenBlock(3136))
                    .add(Linear.builder().setUnits(128).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(10).build());
            case MLP_LARGE -> new SequentialBlock()
                    .add(Blocks.batchFlattenBlock(784))
                    .add(Linear.builder().setUnits(2048).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(1024).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(10).build());
        };
    }
}
