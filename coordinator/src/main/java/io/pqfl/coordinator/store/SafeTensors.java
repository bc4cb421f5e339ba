package io.pqfl.coordinator.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Reads and writes models as <a href="https://github.com/huggingface/safetensors">safetensors</a> files, the format
 * PyTorch users exchange weights in, without DJL (a coordinator host has no libtorch). The format: a u64
 * little-endian header length N, N bytes of JSON mapping each tensor's name to {@code {"dtype", "shape",
 * "data_offsets": [begin, end)}} (offsets into the data that follows) plus an optional {@code "__metadata__"}
 * object of strings, then the tensors' raw little-endian bytes.
 *
 * <p>Written files hold float32 ({@code "F32"}) tensors in manifest order, and metadata {@code format: pt} (so
 * {@code safetensors.torch.load_file} loads them as they are), {@code pqfl.architecture} and {@code
 * pqfl.tensor_order} (the manifest's tensor names as a JSON list), so that reading gives back the exact manifest
 * and therefore the same model digest. A file without {@code pqfl.tensor_order} (one saved by PyTorch) is read in
 * ascending data offset, which is the order {@code save_file} wrote the tensors in.
 *
 * <p>Security: a file is treated as hostile. The header length is bounded ({@value #MAX_HEADER_BYTES} bytes) and
 * checked against the file's size before anything is allocated; the offsets must lie in the file and tile the data
 * exactly (contiguous, no overlap, no gap, no trailing bytes); each tensor's byte length must equal its element
 * count times 4; names follow {@link TensorSpec}'s rules and appear once. Before the header is parsed into a tree,
 * one streaming pass counts its entries: at most {@value #MAX_TENSORS} tensors and {@value #MAX_METADATA_ENTRIES}
 * metadata entries, so the parsed header stays a small multiple of what a real model needs (a header of millions of
 * tiny entries, within the byte bound, would otherwise grow several times its size in memory). So the memory a read
 * allocates is bounded by the file's own size plus a bounded header. Every refusal is an {@link IOException} naming the file and what was wrong. This class
 * frames the file and reads the data; the header's checks are in {@code SafeTensorsHeader}.
 */
public final class SafeTensors {
    /** The largest header read (the reference implementation's own limit). */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    /** The most tensors a file may hold (as for pqfl's own model files). */
    public static final int MAX_TENSORS = 20_000;
    /** The most {@code __metadata__} entries read. */
    public static final int MAX_METADATA_ENTRIES = 1_024;
    /** Metadata key naming the model's architecture label (part of the manifest, and so of the digest). */
    public static final String ARCHITECTURE_KEY = "pqfl.architecture";
    /** Metadata key holding the manifest's tensor order as a JSON list of names. */
    public static final String TENSOR_ORDER_KEY = "pqfl.tensor_order";
    /** The architecture label of a file that names none (one saved by PyTorch). */
    public static final String DEFAULT_ARCHITECTURE = "custom";

    static final String METADATA = "__metadata__";
    static final String F32 = "F32";
    private static final int IO_CHUNK = 1 << 20;
    /** Reads headers strictly (duplicate names, trailing tokens and deep nesting refused) and writes them. */
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).build())
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private SafeTensors() {
    }

    /** A safetensors file's model and its metadata (the {@code __metadata__} object; empty when absent). */
    public record Contents(ModelWeights weights, Map<String, String> metadata) {
        public Contents {
            Objects.requireNonNull(weights, "weights");
            metadata = Map.copyOf(metadata);
        }
    }

    /**
     * Writes {@code weights} as a safetensors file (to a temporary name, synced, then renamed). {@code extraMetadata}
     * is added to the metadata (e.g. where the model came from); it may not override {@code format} or the {@code
     * pqfl.} keys this class writes.
     */
    public static void write(Path file, ModelWeights weights, Map<String, String> extraMetadata) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(weights, "weights");
        ModelManifest manifest = weights.manifest();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put(ARCHITECTURE_KEY, manifest.architecture());
        metadata.put(TENSOR_ORDER_KEY, JSON.writeValueAsString(manifest.tensors().stream().map(TensorSpec::name).toList()));
        for (Map.Entry<String, String> e : extraMetadata.entrySet()) {
            if (metadata.containsKey(e.getKey())) {
                throw new IllegalArgumentException("metadata key " + e.getKey() + " is written by SafeTensors itself");
            }
            metadata.put(e.getKey(), e.getValue());
        }
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject(METADATA);
        metadata.forEach(meta::put);
        long offset = 0;
        for (TensorSpec t : manifest.tensors()) {
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", switch (t.dtype()) {
                case FLOAT32 -> F32;
            });
            ArrayNode shape = entry.putArray("shape");
            t.shape().forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + t.byteCount());
            offset += t.byteCount();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // Spaces pad the header so the data starts 8-byte aligned, as the reference implementation does.
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');

        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).array());
            out.write(padded);
            IOException[] failure = new IOException[1];
            weights.writeChunks(1 << 16, chunk -> {
                try {
                    if (failure[0] == null) {
                        out.write(chunk);
                    }
                } catch (IOException e) {
                    failure[0] = e;
                }
            });
            if (failure[0] != null) {
                throw failure[0];
            }
            out.flush();
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Whether {@code file} looks like a safetensors file by its content: a plausible header length followed by a
     * JSON object. Says nothing about whether the rest is valid; {@link #read} checks that.
     */
    public static boolean looksLikeSafeTensors(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 10) {
                return false;
            }
            ByteBuffer head = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head, 0);
            long length = head.getLong(0);
            return length >= 2 && length <= Math.min(MAX_HEADER_BYTES, size - 8) && head.get(8) == '{';
        }
    }

    /** Reads a safetensors file of float32 tensors; see the class comment for what is refused. */
    public static Contents read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw refuse(file, "too short for a safetensors file (" + size + " bytes)");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
                throw refuse(file, "header length " + Long.toUnsignedString(headerLength) + " is outside 2.."
                        + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw refuse(file, "header length " + headerLength + " runs past the end of the file (" + size + " bytes)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(ch, headerBytes, 8);
            long dataStart = 8 + headerLength;
            SafeTensorsHeader header = SafeTensorsHeader.parse(file, headerBytes.array(), size - dataStart);
            float[][] values = new float[header.entries().size()][];
            for (int i = 0; i < values.length; i++) {
                values[i] = readTensor(ch, file, header.entries().get(i), dataStart);
            }
            return new Contents(ModelWeights.of(header.manifest(), values), header.metadata());
        }
    }

    private static float[] readTensor(FileChannel ch, Path file, SafeTensorsHeader.Entry e, long dataStart)
            throws IOException {
        float[] values = new float[e.spec().elementCount()];
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(IO_CHUNK, e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN);
        long position = dataStart + e.begin();
        int filled = 0;
        while (filled < values.length) {
            int n = Math.min(buffer.capacity() / 4, values.length - filled);
            buffer.clear().limit(n * 4);
            if (!readFully(ch, buffer, position)) {
                throw refuse(file, "truncated while reading tensor " + e.spec().name());
            }
            buffer.flip();
            buffer.asFloatBuffer().get(values, filled, n);
            filled += n;
            position += n * 4L;
        }
        return values;
    }

    /** Fills {@code buffer} from {@code position}; false when the file ends first. */
    private static boolean readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
        long p = position;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, p);
            if (n < 0) {
                return false;
            }
            p += n;
        }
        return true;
    }

    /** The refusal of {@code file}: an {@link IOException} naming the file and what was wrong. */
    static IOException refuse(Path file, String what) {
        return new IOException(file + ": " + what);
    }
}
