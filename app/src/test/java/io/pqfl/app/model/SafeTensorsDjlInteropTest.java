package io.pqfl.app.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.pqfl.coordinator.store.SafeTensors;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pqfl's safetensors reader and writer against an independent implementation: DJL's own safetensors codec
 * ({@code NDList.encode(Encoding.SAFETENSORS)} / {@code NDList.decode}). Python's safetensors and torch are not
 * installed where these tests run; DJL is the other implementation at hand (the coordinator itself must not use it).
 */
class SafeTensorsDjlInteropTest {
    @TempDir
    Path dir;

    @Test
    void aFileDjlWrites_readsBackWithItsNamesShapesAndValues() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray w = manager.arange(12f).reshape(new Shape(3, 4));
            w.setName("layer.weight");
            NDArray b = manager.create(new float[] {-1.5f, 0f, 2.25f});
            b.setName("layer.bias");
            Path file = dir.resolve("djl.safetensors");
            Files.write(file, new NDList(w, b).encode(NDList.Encoding.SAFETENSORS));

            ModelWeights read = SafeTensors.read(file).weights();
            assertThat(read.manifest().tensors()).containsExactlyInAnyOrder(TensorSpec.of("layer.weight", 3, 4),
                    TensorSpec.of("layer.bias", 3));
            int wi = read.manifest().tensors().indexOf(TensorSpec.of("layer.weight", 3, 4));
            assertThat(read.tensor(wi)).containsExactly(w.toFloatArray());
            assertThat(read.tensor(1 - wi)).containsExactly(-1.5f, 0f, 2.25f);
        }
    }

    @Test
    void aFilePqflWrites_decodesInDjl() throws Exception {
        ModelManifest manifest = new ModelManifest("mlp-ish", List.of(TensorSpec.of("fc.weight", 2, 3), TensorSpec.of("fc.bias", 2)));
        ModelWeights model = ModelWeights.of(manifest, new float[][] {{1, 2, 3, 4, 5, 6}, {0.5f, -0.5f}});
        Path file = dir.resolve("pqfl.safetensors");
        SafeTensors.write(file, model, Map.of());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDList list = NDList.decode(manager, Files.readAllBytes(file));
            assertThat(list).hasSize(2);
            NDArray w = list.stream().filter(a -> "fc.weight".equals(a.getName())).findFirst().orElseThrow();
            NDArray b = list.stream().filter(a -> "fc.bias".equals(a.getName())).findFirst().orElseThrow();
            assertThat(w.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(w.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(b.toFloatArray()).containsExactly(0.5f, -0.5f);
        }
    }
}
