package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The receiver's bulk, block-wise decode against the plainest decoder there is — one {@code getFloat} per value and
 * SHA-512 over the manifest's encoding and then every byte — on random bytes cut into random chunks (most boundaries
 * fall inside a value, some chunks span several of the receiver's blocks, some are a single byte), in every kind of
 * buffer gRPC or a file can hand it.
 */
class WeightsReceiverDecodeTest {
    private static final int I = WeightsReceiver.INITIAL_ELEMENTS;
    /** Tensors below, at and above the size where the receiver stages parts, odd sizes, and a single value. */
    private static final ModelManifest MANIFEST = new ModelManifest("mixed", List.of(TensorSpec.of("a", 5),
            TensorSpec.of("staged", 3 * I + 7), TensorSpec.of("one", 1), TensorSpec.of("exact", 2, I),
            TensorSpec.of("just-over", I + 1), TensorSpec.of("odd", 3, 333)));

    static Stream<Arguments> chunkings() {
        List<Function<byte[], ByteBuffer>> kinds = List.of(
                ByteBuffer::wrap,
                b -> ByteBuffer.wrap(b).asReadOnlyBuffer(),
                b -> ByteBuffer.allocateDirect(b.length).put(b).flip(),
                b -> ByteBuffer.allocateDirect(b.length).put(b).flip().asReadOnlyBuffer(),
                // An array with bytes before and after the chunk, and the chunk's position not at 0.
                b -> {
                    byte[] wider = new byte[b.length + 11];
                    System.arraycopy(b, 0, wider, 5, b.length);
                    return ByteBuffer.wrap(wider, 5, b.length);
                },
                // Big-endian order on the caller's buffer must not change how values are read.
                b -> ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).slice());
        List<String> names = List.of("heap", "heap read-only", "direct", "direct read-only", "offset array", "big-endian view");
        Stream.Builder<Arguments> cases = Stream.builder();
        for (int k = 0; k < kinds.size(); k++) {
            for (int maxChunk : new int[] {3, 4099, 3 * WeightsReceiver.BLOCK_BYTES + 5, 1 << 20}) {
                cases.add(Arguments.of(names.get(k), kinds.get(k), maxChunk, 31L * k + maxChunk));
            }
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0}, chunks up to {2} bytes")
    @MethodSource("chunkings")
    void accept_randomChunks_decodesAndDigestsExactlyLikeTheReferenceDecoder(String kind, Function<byte[], ByteBuffer> wrap,
                                                                            int maxChunk, long seed) throws Exception {
        // Both receivers, the one whose memory follows the bytes and the one that allocates tensors whole (the
        // coordinator's uploads), over the same bytes cut the same way.
        for (boolean reserved : new boolean[] {false, true}) {
            receiveAndCompare(wrap, maxChunk, seed, reserved);
        }
    }

    private static void receiveAndCompare(Function<byte[], ByteBuffer> wrap, int maxChunk, long seed, boolean reserved)
            throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] wire = randomWireBytes(random);
        WeightsReceiver receiver = reserved ? WeightsReceiver.reserved(MANIFEST) : new WeightsReceiver(MANIFEST);
        for (int at = 0; at < wire.length; ) {
            int n = Math.min(wire.length - at, 1 + random.nextInt(maxChunk));
            byte[] piece = new byte[n];
            System.arraycopy(wire, at, piece, 0, n);
            ByteBuffer chunk = wrap.apply(piece);
            int limit = chunk.limit();
            receiver.accept(chunk);
            assertThat(chunk.position()).as("the chunk is consumed").isEqualTo(limit);
            at += n;
        }

        assertThat(receiver.isComplete()).isTrue();
        assertThat(receiver.allocatedBytes()).isEqualTo(MANIFEST.totalBytes());
        assertThat(receiver.digest().bytes()).isEqualTo(referenceDigest(wire));
        float[][] expected = referenceDecode(wire);
        ModelWeights decoded = receiver.weights();
        for (int t = 0; t < expected.length; t++) {
            assertThat(bits(decoded.tensor(t))).as("tensor %s, reserved %s", MANIFEST.tensors().get(t).name(), reserved)
                    .isEqualTo(bits(expected[t]));
        }
    }

    @ParameterizedTest(name = "one byte at a time from offset {0}")
    @MethodSource("byteAtATimeStarts")
    void accept_singleBytesAcrossABlockAndTensorBoundary_decodesLikeTheReference(int start) throws Exception {
        byte[] wire = randomWireBytes(new SplittableRandom(start));
        WeightsReceiver receiver = new WeightsReceiver(MANIFEST);
        receiver.accept(ByteBuffer.wrap(wire, 0, start).slice());
        for (int at = start; at < start + 4099; at++) {
            receiver.accept(new byte[] {wire[at]});
        }
        receiver.accept(ByteBuffer.wrap(wire, start + 4099, wire.length - start - 4099).slice());
        assertThat(receiver.digest().bytes()).isEqualTo(referenceDigest(wire));
        float[][] expected = referenceDecode(wire);
        for (int t = 0; t < expected.length; t++) {
            assertThat(bits(receiver.weights().tensor(t))).isEqualTo(bits(expected[t]));
        }
    }

    static Stream<Integer> byteAtATimeStarts() {
        // Inside the first tensor; just before the end of "staged" (a tensor boundary); mid-value near a block edge.
        return Stream.of(1, 4 * (5 + 3 * I + 7) - 2001, WeightsReceiver.BLOCK_BYTES * 7 - 1001);
    }

    static Stream<Arguments> specialValues() {
        Stream.Builder<Arguments> cases = Stream.builder();
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7f800001),
            Float.intBitsToFloat(0xffc00000)};
        for (int k = 0; k < specials.length; k++) {
            for (int tensor = 0; tensor < MANIFEST.tensors().size(); tensor++) {
                cases.add(Arguments.of(Float.floatToRawIntBits(specials[k]), tensor, 1000L * k + tensor));
            }
        }
        return cases.build();
    }

    @ParameterizedTest(name = "bits {0} in tensor {1}")
    @MethodSource("specialValues")
    void firstNonFiniteTensor_oneNaNOrInfinityAnywhere_isFoundInItsTensor(int specialBits, int tensor, long seed)
            throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer wire = extremeButFiniteWire(random);
        long before = 0;
        for (int t = 0; t < tensor; t++) {
            before += MANIFEST.tensors().get(t).elementCount();
        }
        int index = Math.toIntExact(before + random.nextInt(MANIFEST.tensors().get(tensor).elementCount()));
        wire.putInt(4 * index, specialBits);
        // A later tensor's non-finite value must not be reported instead of the first.
        int last = MANIFEST.tensors().size() - 1;
        if (tensor < last) {
            wire.putInt(Math.toIntExact(MANIFEST.totalBytes()) - 4, Float.floatToRawIntBits(Float.NaN));
        }

        WeightsReceiver receiver = receiveInRandomChunks(wire.array(), random);

        assertThat(receiver.firstNonFiniteTensor()).isEqualTo(tensor)
                .isEqualTo(ModelWeights.of(MANIFEST, referenceDecode(wire.array())).firstNonFiniteTensor());
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void firstNonFiniteTensor_extremeFiniteValues_isMinusOne(long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        WeightsReceiver receiver = receiveInRandomChunks(extremeButFiniteWire(random).array(), random);
        assertThat(receiver.firstNonFiniteTensor()).isEqualTo(-1);
    }

    @Test
    void allFinite_everyValueOfTheRange_isChecked_andNothingOutsideIt() {
        float[] v = {Float.NaN, 1f, -2f, Float.MAX_VALUE, -Float.MIN_VALUE, Float.POSITIVE_INFINITY};
        assertThat(WeightsReceiver.allFinite(v, 1, 4)).isTrue();
        for (int at = 1; at <= 4; at++) {
            for (float bad : new float[] {Float.NaN, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7f800001)}) {
                float[] w = v.clone();
                w[at] = bad;
                assertThat(WeightsReceiver.allFinite(w, 1, 4)).as("%s at %d", bad, at).isFalse();
            }
        }
    }

    private static WeightsReceiver receiveInRandomChunks(byte[] wire, SplittableRandom random) throws Exception {
        WeightsReceiver receiver = new WeightsReceiver(MANIFEST);
        for (int at = 0; at < wire.length; ) {
            int n = Math.min(wire.length - at, 1 + random.nextInt(3 * WeightsReceiver.BLOCK_BYTES));
            receiver.accept(ByteBuffer.wrap(wire, at, n).slice());
            at += n;
        }
        return receiver;
    }

    /** Finite values, many at the edges: the largest, the smallest subnormal, zeros of both signs, exponent 0xfe. */
    private static ByteBuffer extremeButFiniteWire(SplittableRandom random) {
        float[] edges = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 0f, -0f,
            Float.MIN_NORMAL, Float.intBitsToFloat(0x7f7fffff), Float.intBitsToFloat(0xff000001)};
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(MANIFEST.totalBytes())).order(ByteOrder.LITTLE_ENDIAN);
        while (out.hasRemaining()) {
            out.putFloat(random.nextInt(4) == 0 ? edges[random.nextInt(edges.length)] : (float) random.nextGaussian());
        }
        return out;
    }

    /** Random float32 values, NaNs made canonical (a float array need not keep a NaN's payload bits). */
    private static byte[] randomWireBytes(SplittableRandom random) {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(MANIFEST.totalBytes())).order(ByteOrder.LITTLE_ENDIAN);
        while (out.hasRemaining()) {
            float f = Float.intBitsToFloat(random.nextInt());
            out.putFloat(Float.isNaN(f) ? Float.NaN : f);
        }
        return out.array();
    }

    private static float[][] referenceDecode(byte[] wire) {
        ByteBuffer in = ByteBuffer.wrap(wire).order(ByteOrder.LITTLE_ENDIAN);
        float[][] values = new float[MANIFEST.tensors().size()][];
        for (int t = 0; t < values.length; t++) {
            values[t] = new float[MANIFEST.tensors().get(t).elementCount()];
            for (int i = 0; i < values[t].length; i++) {
                values[t][i] = in.getFloat();
            }
        }
        assertThat(in.hasRemaining()).isFalse();
        return values;
    }

    /** docs/PROTOCOL.md's payload digest: SHA-512 over the manifest's canonical encoding, then the wire bytes. */
    private static byte[] referenceDigest(byte[] wire) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-512");
        sha.update(MANIFEST.encode());
        return sha.digest(wire);
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }
}
