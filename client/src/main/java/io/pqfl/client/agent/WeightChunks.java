package io.pqfl.client.agent;

import io.pqfl.protocol.ModelWeights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * The wire bytes of a model (little-endian float32, tensors in manifest order: the same bytes as
 * {@link ModelWeights#writeChunks}), one chunk per {@link #next()}: a chunk exists only once it is asked
 * for, so an upload holds one chunk at a time rather than a second copy of the model. Every chunk but the last
 * is {@code chunkBytes} long; each is a fresh array the caller may keep. The weights must not change while
 * they are being iterated.
 */
final class WeightChunks implements Iterator<byte[]> {
    private final ModelWeights weights;
    private final int chunkBytes;
    private long remainingBytes;
    private int tensor;
    private int offset;

    WeightChunks(ModelWeights weights, int chunkBytes) {
        this.weights = Objects.requireNonNull(weights, "weights");
        if (chunkBytes < 4 || chunkBytes % Float.BYTES != 0) {
            throw new IllegalArgumentException("chunk size must be a positive multiple of 4: " + chunkBytes);
        }
        this.chunkBytes = chunkBytes;
        this.remainingBytes = weights.manifest().totalBytes();
    }

    @Override
    public boolean hasNext() {
        return remainingBytes > 0;
    }

    @Override
    public byte[] next() {
        if (!hasNext()) {
            throw new NoSuchElementException("all " + weights.manifest().totalBytes() + " bytes were produced");
        }
        byte[] chunk = new byte[(int) Math.min(chunkBytes, remainingBytes)];
        FloatBuffer out = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        while (out.hasRemaining()) {
            float[] values = weights.tensor(tensor);
            int n = Math.min(out.remaining(), values.length - offset);
            out.put(values, offset, n);
            offset += n;
            if (offset == values.length) {
                tensor++;
                offset = 0;
            }
        }
        remainingBytes -= chunk.length;
        return chunk;
    }
}
