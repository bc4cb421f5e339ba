package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's receiver ({@link WeightsReceiver#reserved}) against the default one, byte by byte across every
 * tensor boundary, with a NaN in each tensor.
 */
class WeightsReceiverReservedTest {
    private static final int I = WeightsReceiver.INITIAL_ELEMENTS;
    private static final ModelManifest M = new ModelManifest("mixed", List.of(TensorSpec.of("a", 5),
            TensorSpec.of("staged", 3 * I + 7), TensorSpec.of("one", 1), TensorSpec.of("exact", 2, I),
            TensorSpec.of("just-over", I + 1), TensorSpec.of("odd", 3, 333)));

    private static byte[] wire(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(M.totalBytes())).order(ByteOrder.LITTLE_ENDIAN);
        while (out.hasRemaining()) {
            out.putFloat((float) r.nextGaussian());
        }
        return out.array();
    }

    private static WeightsReceiver receive(boolean reserved, byte[] w, int byteAtATimeFrom, int count) throws Exception {
        WeightsReceiver r = reserved ? WeightsReceiver.reserved(M) : new WeightsReceiver(M);
        r.accept(ByteBuffer.wrap(w, 0, byteAtATimeFrom).slice());
        for (int at = byteAtATimeFrom; at < byteAtATimeFrom + count; at++) {
            r.accept(new byte[] {w[at]});
        }
        r.accept(ByteBuffer.wrap(w, byteAtATimeFrom + count, w.length - byteAtATimeFrom - count).slice());
        return r;
    }

    @Test
    void reservedAndDefault_agreeByteAtATimeAcrossEveryTensorBoundary_andOnNaNInEachTensor() throws Exception {
        long boundary = 0;
        for (int t = 0; t < M.tensors().size(); t++) {
            byte[] w = wire(t);
            int start = (int) Math.max(0, boundary - 6);
            // A NaN straddling into tensor t (its first value), and every byte around the boundary one at a time.
            ByteBuffer.wrap(w).order(ByteOrder.LITTLE_ENDIAN).putInt((int) boundary, Float.floatToRawIntBits(Float.NaN));
            WeightsReceiver a = receive(false, w, start, 11);
            WeightsReceiver b = receive(true, w, start, 11);
            assertThat(b.digest().bytes()).isEqualTo(a.digest().bytes());
            assertThat(b.firstNonFiniteTensor()).as("tensor %d", t).isEqualTo(a.firstNonFiniteTensor()).isEqualTo(t);
            for (int k = 0; k < M.tensors().size(); k++) {
                assertThat(b.weights().tensor(k)).isEqualTo(a.weights().tensor(k));
            }
            boundary += M.tensors().get(t).byteCount();
        }
    }
}
