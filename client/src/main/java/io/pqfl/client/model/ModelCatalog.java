package io.pqfl.client.model;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The built-in model architectures, by name: their tensors (the manifest a round carries) and seeded initial
 * weights. The client builds the matching DJL block ({@code ModelFactory}) and maps its parameters in this
 * order. The coordinator knows none of this: it is given an initial model's weights (the command line builds
 * them from this catalogue for {@code --model}) and from then on knows a model only as a manifest and weights.
 * This class is plain Java (no DJL types), so a coordinator host can use it without libtorch.
 */
public enum ModelCatalog {
    /** 784-128-10 multilayer perceptron for 28x28 images: 101,770 parameters. */
    MLP("mlp", List.of(
            TensorSpec.of("fc1.weight", 128, 784), TensorSpec.of("fc1.bias", 128),
            TensorSpec.of("fc2.weight", 10, 128), TensorSpec.of("fc2.bias", 10))),
    /**
     * Two 3x3 convolutions (32 and 64 channels, padding 1, ReLU, 2x2 max-pool each) and a 3136-128-10 head:
     * 421,642 parameters.
     */
    CNN("cnn", List.of(
            TensorSpec.of("conv1.weight", 32, 1, 3, 3), TensorSpec.of("conv1.bias", 32),
            TensorSpec.of("conv2.weight", 64, 32, 3, 3), TensorSpec.of("conv2.bias", 64),
            TensorSpec.of("fc1.weight", 128, 3136), TensorSpec.of("fc1.bias", 128),
            TensorSpec.of("fc2.weight", 10, 128), TensorSpec.of("fc2.bias", 10))),
    /** 784-2048-1024-10 perceptron, 3,716,106 parameters (about 14 MiB per update): exercises big updates. */
    MLP_LARGE("mlp-large", List.of(
            TensorSpec.of("fc1.weight", 2048, 784), TensorSpec.of("fc1.bias", 2048),
            TensorSpec.of("fc2.weight", 1024, 2048), TensorSpec.of("fc2.bias", 1024),
            TensorSpec.of("fc3.weight", 10, 1024), TensorSpec.of("fc3.bias", 10)));

    private final String id;
    private final ModelManifest manifest;

    ModelCatalog(String id, List<TensorSpec> tensors) {
        this.id = id;
        this.manifest = new ModelManifest(id, tensors);
    }

    public String id() {
        return id;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public static ModelCatalog byId(String id) {
        for (ModelCatalog m : values()) {
            if (m.id.equals(id.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown model '" + id + "'; known models: "
                + String.join(", ", java.util.Arrays.stream(values()).map(ModelCatalog::id).toList()));
    }

    /**
     * Initial weights: Glorot-uniform weights (fan-in and fan-out from the shape; for convolutions times the
     * kernel area), zero biases, from a seeded generator so a run is reproducible.
     */
    public ModelWeights initialWeights(long seed) {
        Random random = new Random(seed);
        List<float[]> values = new ArrayList<>();
        for (TensorSpec t : manifest.tensors()) {
            float[] v = new float[t.elementCount()];
            if (t.shape().size() > 1) {
                int receptive = 1;
                for (int i = 2; i < t.shape().size(); i++) {
                    receptive *= t.shape().get(i);
                }
                double fanOut = (double) t.shape().get(0) * receptive;
                double fanIn = (double) t.shape().get(1) * receptive;
                double limit = Math.sqrt(6.0 / (fanIn + fanOut));
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((random.nextDouble() * 2 - 1) * limit);
                }
            }
            values.add(v);
        }
        return ModelWeights.of(manifest, values.toArray(new float[0][]));
    }
}
