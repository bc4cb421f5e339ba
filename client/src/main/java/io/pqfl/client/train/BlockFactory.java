package io.pqfl.client.train;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.pqfl.trainer.TrainerOptions;

/**
 * A user's DJL model for the DJL trainer: {@code --trainer-option block-factory=com.example.MyBlocks} names a class
 * that implements this, with a public no-argument constructor, on the class path or in {@code --trainer-jar}.
 *
 * <p>The federation's manifest is derived from the block: it is initialised for {@link #inputShape()} and its
 * parameters, in DJL's order ({@code Block.getParameters()}), become the tensors. Tensor names are DJL's parameter
 * names (e.g. {@code 01Linear_weight}) with every character outside {@code [A-Za-z0-9_.-]} replaced by {@code _} and
 * cut to 128 characters; the architecture label is the factory's simple class name in lower case. The initial
 * weights (for a simulation) are DJL's own initialisation of the block, with DJL's random seed set to the trainer's.
 */
public interface BlockFactory {
    /** A new, uninitialised block; {@code options} are the trainer's options (the factory may read its own keys). */
    Block build(TrainerOptions options);

    /** The shape of one example as the block takes it, without the batch dimension (e.g. {@code (1, 28, 28)}). */
    Shape inputShape();
}
