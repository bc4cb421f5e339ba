package io.pqfl.protocol;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.PayloadHasher;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Receives a model's wire bytes chunk by chunk and, in the same single pass, digests them and decodes
 * them into float arrays: no buffering of the raw bytes, no second pass. Refuses more bytes than the
 * manifest describes as soon as they arrive. Not thread-safe.
 *
 * <p>Memory follows the bytes actually received, not the manifest's claim: nothing is allocated for a tensor until
 * its first value arrives; then what is held for it doubles (from {@value #INITIAL_ELEMENTS} values) as values
 * arrive, and its full-size array is allocated once half of it has arrived. So a sender that stops after the
 * header costs a few bytes, and one that stops half-way at most about twice what it sent.
 *
 * <p>{@link #reserved} is for a receiver whose memory the caller has already set aside (the coordinator's upload
 * budget reserves a model and a half per upload before the first chunk): a large tensor's full array is allocated
 * once an eighth of it has arrived, so only that eighth is staged and copied, and a sender still holds at most about
 * eight times what it sent (allocating at the first value would let a few bytes allocate and zero a whole tensor).
 */
public final class WeightsReceiver {
    /**
     * Bytes digested and then decoded together: a chunk is walked in blocks this size so that the bytes the digest
     * just read are still in the core's cache when they are decoded (a 1 MiB chunk is larger than this machine's
     * L2; read twice from memory it cost a third of the time).
     */
    static final int BLOCK_BYTES = 1 << 15;
    static final int INITIAL_ELEMENTS = 1 << 16;
    private final ModelManifest manifest;
    private final PayloadHasher hasher = new PayloadHasher();
    /** Each tensor's element count, read once: the decode loop must not walk the manifest per value. */
    private final int[] sizes;
    private final float[][] values;
    /** The current tensor's values while less than half of it has arrived: full parts, then the one being filled. */
    private final List<float[]> staged = new ArrayList<>();
    private float[] part;
    /** The element index of {@code part[0]} in the current tensor. */
    private int partStart;
    private final byte[] carry = new byte[4];
    private int carryLength;
    private int tensor;
    private int element;
    private long received;
    /** The first tensor in which a NaN or an infinity arrived, or -1. */
    private int firstNonFinite = -1;
    private PayloadDigest digest;
    /** A large tensor's array is allocated once {@code 1 / 2^wholeAfterShift} of it has arrived. */
    private final int wholeAfterShift;

    /** A receiver whose memory follows the bytes received (see the class comment). */
    public WeightsReceiver(ModelManifest manifest) {
        this(manifest, 1);
    }

    /**
     * A receiver that allocates a large tensor's full array once an eighth of it has arrived (not half): only where the
     * caller has already reserved memory for the whole model. It holds at most about eight times what arrived.
     */
    public static WeightsReceiver reserved(ModelManifest manifest) {
        return new WeightsReceiver(manifest, 3);
    }

    private WeightsReceiver(ModelManifest manifest, int wholeAfterShift) {
        this.wholeAfterShift = wholeAfterShift;
        this.manifest = manifest;
        this.values = new float[manifest.tensors().size()][];
        this.sizes = manifest.tensors().stream().mapToInt(TensorSpec::elementCount).toArray();
        hasher.update(manifest.encode());
    }

    /** Too many bytes for the manifest. */
    public static final class OverflowException extends Exception {
        private static final long serialVersionUID = 1L;

        OverflowException(String message) {
            super(message);
        }
    }

    /**
     * Digests and decodes the chunk's remaining bytes (heap or direct, read-only or not; a value may straddle
     * chunks) and consumes them.
     */
    public void accept(ByteBuffer chunk) throws OverflowException {
        int incoming = chunk.remaining();
        if (received + incoming > manifest.totalBytes()) {
            throw new OverflowException("received " + (received + incoming) + " bytes, the manifest describes "
                    + manifest.totalBytes());
        }
        ByteBuffer in = chunk.slice();
        for (int at = 0; at < incoming; at += BLOCK_BYTES) {
            ByteBuffer block = in.slice(at, Math.min(BLOCK_BYTES, incoming - at));
            hasher.update(block.duplicate());
            decode(block.order(ByteOrder.LITTLE_ENDIAN));
        }
        received += incoming;
        chunk.position(chunk.limit());
    }

    public void accept(byte[] chunk) throws OverflowException {
        accept(ByteBuffer.wrap(chunk));
    }

    /** Decodes a little-endian block: the value begun in the last block, whole values in bulk, then a tail. */
    private void decode(ByteBuffer in) {
        int p = 0;
        int n = in.limit();
        if (carryLength > 0) {
            while (carryLength < 4 && p < n) {
                carry[carryLength++] = in.get(p++);
            }
            if (carryLength < 4) {
                return;
            }
            carryLength = 0;
            store(ByteBuffer.wrap(carry).order(ByteOrder.LITTLE_ENDIAN), 1);
        }
        int whole = (n - p) >>> 2;
        if (whole > 0) {
            store(in.slice(p, whole << 2).order(ByteOrder.LITTLE_ENDIAN), whole);
            p += whole << 2;
        }
        while (p < n) {
            carry[carryLength++] = in.get(p++);
        }
    }

    /**
     * Moves {@code count} little-endian values from {@code src} (from its index 0) into the tensors, in runs as long
     * as the arrays allow, checking each run for NaN and infinity right after it is copied, while it is in the cache.
     */
    private void store(ByteBuffer src, int count) {
        int from = 0;
        while (count > 0) {
            while (element == sizes[tensor]) {
                tensor++;
                element = 0;
            }
            float[] whole = values[tensor];
            if (whole == null && (part == null || element == partStart + part.length)) {
                grow();
                continue;
            }
            int run = Math.min(count, whole != null ? whole.length - element : partStart + part.length - element);
            float[] into = whole != null ? whole : part;
            int at = whole != null ? element : element - partStart;
            src.slice(from, run << 2).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into, at, run);
            if (firstNonFinite < 0 && !allFinite(into, at, run)) {
                firstNonFinite = tensor;
            }
            from += run << 2;
            element += run;
            count -= run;
        }
    }

    /**
     * Whether the {@code count} values of {@code values} from {@code from} are all finite, without a branch per value:
     * a value is NaN or infinite exactly when its eight exponent bits are all ones, and then adding one at the
     * exponent's lowest bit carries into the sign's place, and only then. Run over the floats just copied (still in
     * the cache), this cost less than reading the bytes as longs from the buffer before the copy (the buffer's
     * bounds checks); comparing each value as a float cost more than reading the whole model again.
     */
    static boolean allFinite(float[] values, int from, int count) {
        int carries = 0;
        for (int i = from, end = from + count; i < end; i++) {
            carries |= (Float.floatToRawIntBits(values[i]) & 0x7f80_0000) + 0x0080_0000;
        }
        return (carries & 0x8000_0000) == 0;
    }

    /**
     * Makes room for the current tensor's next value. Until half the tensor has arrived its values go into parts
     * that double what is held (so memory stays within about twice what arrived) and are never copied while they
     * grow; then the tensor's array is allocated once, at its full size, and the parts are copied into it once.
     * Growing one array by doubling instead would zero and copy the tensor about twice over, which for a large
     * tensor cost more than decoding it.
     */
    private void grow() {
        int size = sizes[tensor];
        if (size <= INITIAL_ELEMENTS || ((long) element << wholeAfterShift) >= size) {
            float[] whole = new float[size];
            int at = 0;
            for (float[] p : staged) {
                System.arraycopy(p, 0, whole, at, p.length);
                at += p.length;
            }
            if (part != null) {
                System.arraycopy(part, 0, whole, at, part.length);
            }
            staged.clear();
            part = null;
            values[tensor] = whole;
        } else {
            if (part != null) {
                staged.add(part);
            }
            long stageUpTo = ((long) size + (1L << wholeAfterShift) - 1) >> wholeAfterShift; // ceil(size / 2^shift)
            part = new float[(int) Math.min(Math.max(element, INITIAL_ELEMENTS), stageUpTo - element)];
            partStart = element;
        }
    }

    /** Bytes held for decoded values now (for tests of the memory bound). */
    long allocatedBytes() {
        long n = part == null ? 0 : 4L * part.length;
        for (float[] p : staged) {
            n += 4L * p.length;
        }
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

    /** The digest of manifest and bytes, after the last chunk: no chunk is accepted once it has been asked for. */
    public PayloadDigest digest() {
        if (digest == null) {
            digest = hasher.finish();
        }
        return digest;
    }

    /**
     * The index of the first tensor that received a NaN or an infinity, or -1 when every value so far is finite: the
     * same answer as {@link ModelWeights#firstNonFiniteTensor()} on {@link #weights()}, found while the values were
     * decoded rather than by reading the model again.
     */
    public int firstNonFiniteTensor() {
        return firstNonFinite;
    }

    /** The decoded weights; only when {@link #isComplete()}. */
    public ModelWeights weights() {
        if (!isComplete()) {
            throw new IllegalStateException("incomplete: " + received + " of " + manifest.totalBytes() + " bytes");
        }
        return ModelWeights.of(manifest, values);
    }
}
