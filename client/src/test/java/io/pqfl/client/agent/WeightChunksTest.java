package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class WeightChunksTest {
    /** Tensors of awkward sizes, so chunks straddle tensor boundaries. */
    static ModelWeights model() {
        ModelManifest manifest = new ModelManifest("chunks-test",
                List.of(TensorSpec.of("a", 3, 7), TensorSpec.of("b", 1000), TensorSpec.of("c", 5), TensorSpec.of("d", 1)));
        ModelWeights w = ModelWeights.zeros(manifest);
        Random random = new Random(1);
        for (int t = 0; t < w.tensorCount(); t++) {
            float[] v = w.tensor(t);
            for (int i = 0; i < v.length; i++) {
                v[i] = random.nextFloat() - 0.5f;
            }
        }
        return w;
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 8, 12, 84, 1024, 4108, 1 << 20})
    void chunks_areTheSameBytesInTheSameChunksAsWriteChunks(int chunkBytes) {
        ModelWeights w = model();
        List<byte[]> expected = new ArrayList<>();
        w.writeChunks(chunkBytes, expected::add);

        WeightChunks chunks = new WeightChunks(w, chunkBytes);
        List<byte[]> actual = new ArrayList<>();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        while (chunks.hasNext()) {
            byte[] c = chunks.next();
            actual.add(c);
            all.writeBytes(c);
        }
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i)).as("chunk %d", i).isEqualTo(expected.get(i));
        }
        assertThat(all.toByteArray()).isEqualTo(w.toBytes());
    }

    @Test
    void next_afterTheLastChunk_throws() {
        WeightChunks chunks = new WeightChunks(model(), 1 << 20);
        chunks.next();
        assertThat(chunks.hasNext()).isFalse();
        assertThatThrownBy(chunks::next).isInstanceOf(NoSuchElementException.class);
    }

    @Test
    void constructor_refusesAChunkSizeThatIsNotAPositiveMultipleOfFour() {
        assertThatThrownBy(() -> new WeightChunks(model(), 6)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WeightChunks(model(), 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
