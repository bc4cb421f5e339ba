package io.pqfl.client.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Moves weights between a DJL block and the protocol's {@link ModelWeights}, bit-exactly, in the block's
 * parameter order, checking every shape. Rule for normalisation layers: DJL keeps BatchNorm running
 * statistics as parameters, so they travel and are aggregated like weights (the catalogue's models have no
 * BatchNorm; a model that does gets FedAvg of its running statistics).
 */
public final class WeightsCodec {
    private WeightsCodec() {
    }

    private static List<Parameter> parameters(Block block, ModelManifest manifest) {
        List<Parameter> params = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            params.add(p.getValue());
        }
        if (params.size() != manifest.tensors().size()) {
            throw new IllegalArgumentException("the block has " + params.size() + " parameters, the model "
                    + manifest.architecture() + " has " + manifest.tensors().size() + " tensors");
        }
        for (int i = 0; i < params.size(); i++) {
            TensorSpec spec = manifest.tensors().get(i);
            long[] shape = params.get(i).getArray().getShape().getShape();
            long[] expected = spec.shape().stream().mapToLong(Integer::longValue).toArray();
            if (!Arrays.equals(shape, expected)) {
                throw new IllegalArgumentException("parameter " + i + " (" + spec.name() + ") has shape "
                        + Arrays.toString(shape) + ", the model says " + spec.shape());
            }
        }
        return params;
    }

    public static ModelWeights read(Block block, ModelManifest manifest) {
        List<Parameter> params = parameters(block, manifest);
        float[][] values = new float[params.size()][];
        for (int i = 0; i < values.length; i++) {
            values[i] = params.get(i).getArray().toFloatArray();
        }
        return ModelWeights.of(manifest, values);
    }

    public static void write(Block block, ModelWeights weights) {
        List<Parameter> params = parameters(block, weights.manifest());
        for (int i = 0; i < params.size(); i++) {
            params.get(i).getArray().set(weights.tensor(i));
        }
    }
}
