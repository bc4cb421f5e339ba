package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What an upload holds in memory follows the bytes that arrived, not the size its header claims. */
class WeightsReceiverMemoryTest {
    // The 14.9 MB model of the attack report: one 3.7 M-value tensor and a small one.
    private static final ModelManifest LARGE = new ModelManifest("large",
            List.of(TensorSpec.of("w", 1_900, 1_960), TensorSpec.of("b", 10)));

    @Test
    void headerOnly_holdsNoTensorMemory() {
        WeightsReceiver r = new WeightsReceiver(LARGE);
        assertThat(r.allocatedBytes()).isZero();
    }

    @Test
    void partialUpload_holdsAtMostAboutTwiceWhatArrived_andACompleteOneExactlyTheModel() throws Exception {
        WeightsReceiver r = new WeightsReceiver(LARGE);
        byte[] chunk = new byte[1 << 20];
        r.accept(chunk);
        assertThat(r.allocatedBytes()).isLessThanOrEqualTo(2L * chunk.length + 4L * WeightsReceiver.INITIAL_ELEMENTS);
        long sent = chunk.length;
        while (sent + chunk.length <= LARGE.totalBytes()) {
            r.accept(chunk);
            sent += chunk.length;
            assertThat(r.allocatedBytes()).isLessThanOrEqualTo(2 * sent + 4L * WeightsReceiver.INITIAL_ELEMENTS);
        }
        r.accept(new byte[(int) (LARGE.totalBytes() - sent)]);
        assertThat(r.isComplete()).isTrue();
        assertThat(r.allocatedBytes()).isEqualTo(LARGE.totalBytes());
        assertThat(r.weights().tensor(0)).hasSize(1_900 * 1_960);
    }

    /**
     * The coordinator's uploads (the budget reserved the model) stage only the first eighth of a large tensor: a few
     * bytes never allocate a whole tensor, and what is held stays within about eight times what arrived.
     */
    @Test
    void reserved_holdsAtMostAboutEightTimesWhatArrived_andTheWholeTensorOnceAnEighthHasArrived() throws Exception {
        WeightsReceiver r = WeightsReceiver.reserved(LARGE);
        assertThat(r.allocatedBytes()).as("after the header").isZero();
        r.accept(new byte[4]);
        assertThat(r.allocatedBytes()).as("after one value").isEqualTo(4L * WeightsReceiver.INITIAL_ELEMENTS);
        byte[] chunk = new byte[1 << 16];
        long sent = 4;
        long tensorBytes = 4L * 1_900 * 1_960;
        while (sent + chunk.length <= LARGE.totalBytes()) {
            r.accept(chunk);
            sent += chunk.length;
            assertThat(r.allocatedBytes()).isLessThanOrEqualTo(8 * sent + 4L * WeightsReceiver.INITIAL_ELEMENTS);
            if (8 * sent >= tensorBytes + 8L * chunk.length) {
                assertThat(r.allocatedBytes()).as("an eighth has arrived: the tensor's array, nothing staged")
                        .isEqualTo(tensorBytes);
            }
        }
        r.accept(new byte[(int) (LARGE.totalBytes() - sent)]);
        assertThat(r.isComplete()).isTrue();
        assertThat(r.allocatedBytes()).isEqualTo(LARGE.totalBytes());
    }

    @Test
    void decodedValues_areTheSameWhateverTheChunking() throws Exception {
        ModelWeights model = ProtocolFixtures.tiny(3);
        byte[] bytes = model.toBytes();
        WeightsReceiver r = new WeightsReceiver(model.manifest());
        for (byte b : bytes) {
            r.accept(new byte[] {b}); // one byte at a time: values straddle chunks
        }
        assertThat(r.digest()).isEqualTo(model.digest());
        assertThat(r.weights().tensor(0)).containsExactly(model.tensor(0));
        assertThat(r.weights().tensor(1)).containsExactly(model.tensor(1));
    }
}
