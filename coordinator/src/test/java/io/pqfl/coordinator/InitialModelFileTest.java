package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.store.SafeTensors;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.WireMapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A federation starts from a model file of either format; its tensors become the federation's manifest. */
class InitialModelFileTest {
    @TempDir
    Path dir;

    private static final ModelManifest OWN = new ModelManifest("own-net",
            List.of(TensorSpec.of("encoder.0.weight", 4, 3), TensorSpec.of("encoder.0.bias", 4), TensorSpec.of("head", 2, 4)));

    private static ModelWeights own(float base) {
        float[][] v = new float[3][];
        for (int t = 0; t < 3; t++) {
            v[t] = new float[OWN.tensors().get(t).elementCount()];
            for (int i = 0; i < v[t].length; i++) {
                v[t][i] = base + i;
            }
        }
        return ModelWeights.of(OWN, v);
    }

    @Test
    void safetensorsInitialModel_isTheFederationsManifest_andRoundsRunOnIt() throws Exception {
        // No .safetensors extension: the format is told by content.
        Path file = dir.resolve("initial.weights");
        SafeTensors.write(file, own(0), Map.of());
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.initialModel(file))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);
            assertThat(WireMapping.fromWire(t1.header().getManifest())).isEqualTo(OWN);
            assertThat(t1.header().getManifest().getTensors(0).getDtype()).isEqualTo("float32");
            assertThat(t1.signed().statement().modelDigest()).isEqualTo(own(0).digest());
            c1.submit(t1, own(1), 10);
            c2.submit(t2, own(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().manifest()).isEqualTo(OWN);
            assertThat(fed.global().tensor(2)).containsExactly(own(2).tensor(2));
        }
    }

    @Test
    void safetensorsWithAnIntegerBuffer_refusedAtStart_namingFileAndTensor() throws Exception {
        Path file = dir.resolve("bn.safetensors");
        String header = "{\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        byte[] json = (header + " ".repeat((8 - header.length() % 8) % 8)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] bytes = new byte[8 + json.length + 8];
        java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json);
        Files.write(file, bytes);
        assertThatThrownBy(() -> TestFederation.start(dir, 2, b -> b.initialModel(file))).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("bn.num_batches_tracked has dtype I64");
    }
}
