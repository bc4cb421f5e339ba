package io.pqfl.protocol;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.PayloadHasher;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Receives a model's wire bytes chunk by chunk and, in the same single pass, digests them and decodes
 * them into float arrays: no buffering of the raw bytes, no second pass. Refuses more bytes than the
 * manifest describes as soon as they arrive. Not thread-safe.
 *
 * <p>Memory follows the bytes actually received, not the manifest's claim: a tensor's array is allocated when
 * its first value arrives and grows (doubling, from {@value #INITIAL_ELEMENTS} values) up to the tensor's size,
 * so a sender that stops after the header costs a few bytes, and one that stops half-way at most about twice
 * what it sent.
 */
public final class WeightsReceiver {
    private final ModelManifest manifest;
    private final PayloadHasher hasher = new PayloadHasher();
    static final int INITIAL_ELEMENTS = 1 << 16;
    private final float[][] values;
    private final byte[] carry = new byte[4];
    private int carryLength;
    private int tensor;
    private int element;
    private long received;

    public WeightsReceiver(ModelManifest manifest) {
        this.manifest = manifest;
        this.values = new float[manifest.tensors().size()][];
        hasher.update(manifest.encode());
    }

    /** Too many bytes for the manifest. */
    public static final class OverflowException extends Exception {
        private static final long serialVersionUID = 1L;

        OverflowException(String message) {
            super(message);
        }
    }

    public void accept(ByteBuffer chunk) throws OverflowException {
        long incoming = chunk.remaining();
        if (received + incoming > manifest.totalBytes()) {
            throw new OverflowException("received " + (received + incoming) + " bytes, the manifest describes "
                    + manifest.totalBytes());
        }
        hasher.update(chunk.duplicate());
        ByteBuffer in = chunk.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (carryLength > 0 && in.hasRemaining()) {
            carry[carryLength++] = in.get();
            if (carryLength == 4) {
                put(ByteBuffer.wrap(carry).order(ByteOrder.LITTLE_ENDIAN).getFloat());
                carryLength = 0;
            }
        }
        while (in.remaining() >= 4) {
            put(in.getFloat());
        }
        while (in.hasRemaining()) {
            carry[carryLength++] = in.get();
        }
        received += incoming;
        chunk.position(chunk.limit());
    }

    public void accept(byte[] chunk) throws OverflowException {
        accept(ByteBuffer.wrap(chunk));
    }

    private void put(float f) {
        while (element == manifest.tensors().get(tensor).elementCount()) {
            tensor++;
            element = 0;
        }
        float[] v = values[tensor];
        if (v == null || element == v.length) {
            int size = manifest.tensors().get(tensor).elementCount();
            int grown = v == null ? Math.min(size, INITIAL_ELEMENTS) : (int) Math.min(size, 2L * v.length);
            v = v == null ? new float[grown] : Arrays.copyOf(v, grown);
            values[tensor] = v;
        }
        v[element++] = f;
    }

    /** Bytes held for decoded values now (for tests of the memory bound). */
    long allocatedBytes() {
        long n = 0;
        for (float[] v : values) {
            n += v == null ? 0 : 4L * v.length;
        }
        return n;
    }

    public long receivedBytes() {
        return received;
    }

    public boolean isComplete() {
        return received == manifest.totalBytes();
    }

    /** The digest of manifest and bytes; call once, after the last chunk. */
    public PayloadDigest digest() {
        return hasher.finish();
    }

    /** The decoded weights; only when {@link #isComplete()}. */
    public ModelWeights weights() {
        if (!isComplete()) {
            throw new IllegalStateException("incomplete: " + received + " of " + manifest.totalBytes() + " bytes");
        }
        return ModelWeights.of(manifest, values);
    }
}
