package io.pqfl.protocol;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.PayloadHasher;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A model's float32 tensors, in manifest order. The wire form is each tensor's values, row-major, as IEEE
 * 754 binary32 little-endian, concatenated in manifest order.
 *
 * <p>The arrays are owned by this object: {@link #tensor(int)} returns the live array for aggregation code
 * that builds a new model, and callers must not change the arrays of a model others can see.
 */
public final class ModelWeights {
    private final ModelManifest manifest;
    private final float[][] values;

    private ModelWeights(ModelManifest manifest, float[][] values) {
        this.manifest = manifest;
        this.values = values;
    }

    /** Wraps arrays (not copied) after checking their sizes against the manifest. */
    public static ModelWeights of(ModelManifest manifest, float[][] values) {
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(values, "values");
        if (values.length != manifest.tensors().size()) {
            throw new IllegalArgumentException("expected " + manifest.tensors().size() + " tensors, got " + values.length);
        }
        for (int i = 0; i < values.length; i++) {
            int expected = manifest.tensors().get(i).elementCount();
            if (values[i] == null || values[i].length != expected) {
                throw new IllegalArgumentException("tensor " + manifest.tensors().get(i).name() + ": expected "
                        + expected + " values, got " + (values[i] == null ? "null" : values[i].length));
            }
        }
        return new ModelWeights(manifest, values);
    }

    /** All-zero tensors of the manifest's shapes. */
    public static ModelWeights zeros(ModelManifest manifest) {
        float[][] v = new float[manifest.tensors().size()][];
        for (int i = 0; i < v.length; i++) {
            v[i] = new float[manifest.tensors().get(i).elementCount()];
        }
        return new ModelWeights(manifest, v);
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public int tensorCount() {
        return values.length;
    }

    public float[] tensor(int index) {
        return values[index];
    }

    public ModelWeights copy() {
        float[][] v = new float[values.length][];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i].clone();
        }
        return new ModelWeights(manifest, v);
    }

    /** Index of the first non-finite value's tensor, or -1 when all values are finite. */
    public int firstNonFiniteTensor() {
        for (int i = 0; i < values.length; i++) {
            for (float f : values[i]) {
                if (!Float.isFinite(f)) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** Streams the wire bytes in chunks of at most {@code chunkSize}; each buffer is fresh and may be kept. */
    public void writeChunks(int chunkSize, Consumer<byte[]> sink) {
        if (chunkSize < 4 || chunkSize % 4 != 0) {
            throw new IllegalArgumentException("chunk size must be a positive multiple of 4: " + chunkSize);
        }
        ByteBuffer buffer = ByteBuffer.allocate(chunkSize).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] tensor : values) {
            for (float f : tensor) {
                buffer.putFloat(f);
                if (!buffer.hasRemaining()) {
                    sink.accept(buffer.array().clone());
                    buffer.clear();
                }
            }
        }
        if (buffer.position() > 0) {
            sink.accept(Arrays.copyOf(buffer.array(), buffer.position()));
        }
    }

    /** The wire bytes in one array (tests, small models). */
    public byte[] toBytes() {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(manifest.totalBytes()));
        writeChunks(1 << 16, all::put);
        return all.array();
    }

    /** SHA-512 over the manifest's canonical encoding followed by the wire bytes (docs/PROTOCOL.md). */
    public PayloadDigest digest() {
        PayloadHasher hasher = new PayloadHasher().update(manifest.encode());
        writeChunks(1 << 16, hasher::update);
        return hasher.finish();
    }

    @Override
    public String toString() {
        return "ModelWeights[" + manifest.architecture() + ", " + manifest.tensors().size() + " tensors, "
                + manifest.totalElements() + " values]";
    }
}
