package io.pqfl.coordinator.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

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
 * count times 4; names follow {@link TensorSpec}'s rules and appear once. So the memory a read allocates is bounded
 * by the file's own size. Every refusal is an {@link IOException} naming the file and what was wrong.
 */
public final class SafeTensors {
    /** The largest header read (the reference implementation's own limit). */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    /** The most tensors a file may hold (as for pqfl's own model files). */
    public static final int MAX_TENSORS = 100_000;
    /** Metadata key naming the model's architecture label (part of the manifest, and so of the digest). */
    public static final String ARCHITECTURE_KEY = "pqfl.architecture";
    /** Metadata key holding the manifest's tensor order as a JSON list of names. */
    public static final String TENSOR_ORDER_KEY = "pqfl.tensor_order";
    /** The architecture label of a file that names none (one saved by PyTorch). */
    public static final String DEFAULT_ARCHITECTURE = "custom";

    private static final String METADATA = "__metadata__";
    private static final String F32 = "F32";
    private static final int IO_CHUNK = 1 << 20;
    private static final List<String> FLOAT_DTYPES = List.of("F16", "BF16", "F64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
            "F6_E2M3", "F6_E3M2", "F4");
    private static final List<String> INTEGER_DTYPES = List.of("I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
            "BOOL");
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
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
            Header header = parseHeader(file, headerBytes.array(), size - dataStart);
            float[][] values = new float[header.entries.size()][];
            for (int i = 0; i < values.length; i++) {
                values[i] = readTensor(ch, file, header.entries.get(i), dataStart);
            }
            return new Contents(ModelWeights.of(header.manifest, values), header.metadata);
        }
    }

    private record Entry(TensorSpec spec, long begin, long end) {
    }

    private record Header(ModelManifest manifest, List<Entry> entries, Map<String, String> metadata) {
    }

    private static Header parseHeader(Path file, byte[] bytes, long dataLength) throws IOException {
        if (bytes[0] != '{') {
            throw refuse(file, "the header is not a JSON object");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw refuse(file, "the header is not valid JSON: " + printable(e.getOriginalMessage()));
        }
        if (root == null || !root.isObject()) {
            throw refuse(file, "the header is not a JSON object");
        }
        Map<String, String> metadata = new HashMap<>();
        JsonNode meta = root.get(METADATA);
        if (meta != null) {
            if (!meta.isObject()) {
                throw refuse(file, METADATA + " is not an object of strings");
            }
            for (Map.Entry<String, JsonNode> e : meta.properties()) {
                if (!e.getValue().isTextual()) {
                    throw refuse(file, METADATA + " value of '" + printable(e.getKey()) + "' is not a string");
                }
                metadata.put(e.getKey(), e.getValue().textValue());
            }
        }
        int count = root.size() - (meta == null ? 0 : 1);
        if (count == 0) {
            throw refuse(file, "it holds no tensors");
        }
        if (count > MAX_TENSORS) {
            throw refuse(file, count + " tensors; at most " + MAX_TENSORS + " are read");
        }

        List<String> badDtypes = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getKey().equals(METADATA)) {
                JsonNode dtype = e.getValue().get("dtype");
                if (dtype != null && dtype.isTextual() && !F32.equals(dtype.textValue())) {
                    badDtypes.add(describeDtype(e.getKey(), dtype.textValue()));
                }
            }
        }
        if (!badDtypes.isEmpty()) {
            throw refuse(file, badDtypes.size() + (badDtypes.size() == 1 ? " tensor is not" : " tensors are not")
                    + " float32, the only dtype pqfl federates: "
                    + String.join("; ", badDtypes.subList(0, Math.min(10, badDtypes.size())))
                    + (badDtypes.size() > 10 ? "; and " + (badDtypes.size() - 10) + " more" : ""));
        }

        Map<String, Entry> byName = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getKey().equals(METADATA)) {
                Entry entry = entry(file, e.getKey(), e.getValue());
                byName.put(entry.spec.name(), entry);
            }
        }
        List<Entry> byOffset = new ArrayList<>(byName.values());
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : byOffset) {
            if (e.begin != expected) {
                throw refuse(file, "tensor " + e.spec.name() + " starts at data offset " + e.begin + ", expected " + expected
                        + (e.begin < expected ? " (it overlaps the tensor before it)" : " (a gap before it)"));
            }
            if (e.end > dataLength) {
                throw refuse(file, "tensor " + e.spec.name() + " ends at data offset " + e.end + ", past the end of the file's "
                        + dataLength + " data bytes");
            }
            expected = e.end;
        }
        if (expected != dataLength) {
            throw refuse(file, (dataLength - expected) + " bytes after the last tensor's data");
        }

        List<Entry> ordered = order(file, metadata.get(TENSOR_ORDER_KEY), byName, byOffset);
        String architecture = metadata.getOrDefault(ARCHITECTURE_KEY, DEFAULT_ARCHITECTURE);
        if (architecture.isEmpty() || architecture.length() > 128
                || !architecture.chars().allMatch(c -> c > 32 && c < 127)) {
            throw refuse(file, ARCHITECTURE_KEY + " must be 1-128 printable ASCII characters: '" + printable(architecture) + "'");
        }
        ModelManifest manifest = new ModelManifest(architecture, ordered.stream().map(Entry::spec).toList());
        return new Header(manifest, ordered, metadata);
    }

    private static Entry entry(Path file, String name, JsonNode node) throws IOException {
        String what = "tensor " + printable(name);
        if (name.isEmpty() || name.length() > 128 || !name.chars().allMatch(c -> c > 32 && c < 127)) {
            throw refuse(file, "tensor name '" + printable(name) + "' is not 1-128 printable ASCII characters without "
                    + "spaces");
        }
        if (!node.isObject()) {
            throw refuse(file, what + ": its header entry is not an object");
        }
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            String field = f.getKey();
            if (!Set.of("dtype", "shape", "data_offsets").contains(field)) {
                throw refuse(file, what + ": unknown field '" + printable(field) + "'");
            }
        }
        JsonNode dtype = node.get("dtype");
        if (dtype == null || !dtype.isTextual()) {
            throw refuse(file, what + ": dtype missing or not a string");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw refuse(file, what + ": shape missing or not a list");
        }
        if (shapeNode.isEmpty()) {
            throw refuse(file, what + " is a scalar (shape []); pqfl tensors have rank 1 to 8: save it with shape [1] "
                    + "(e.g. t.reshape(1)) or leave it out of the model");
        }
        List<Integer> shape = new ArrayList<>();
        for (JsonNode d : shapeNode) {
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw refuse(file, what + ": shape " + shapeNode + " is not a list of non-negative integers");
            }
            if (d.intValue() == 0) {
                throw refuse(file, what + " has no elements (shape " + shapeNode + "); leave it out of the model");
            }
            shape.add(d.intValue());
        }
        TensorSpec spec;
        try {
            spec = new TensorSpec(name, shape);
        } catch (IllegalArgumentException e) {
            throw refuse(file, e.getMessage());
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw refuse(file, what + ": data_offsets missing or not a pair [begin, end]");
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw refuse(file, what + ": data_offsets " + offsets + " are not non-negative integers");
            }
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (end < begin || end - begin != spec.byteCount()) {
            throw refuse(file, what + ": data_offsets " + offsets + " cover " + (end - begin) + " bytes, but shape "
                    + shape + " of float32 needs " + spec.byteCount());
        }
        return new Entry(spec, begin, end);
    }

    private static List<Entry> order(Path file, String order, Map<String, Entry> byName, List<Entry> byOffset)
            throws IOException {
        if (order == null) {
            return byOffset;
        }
        JsonNode names;
        try {
            names = JSON.readTree(order);
        } catch (JsonProcessingException e) {
            throw refuse(file, TENSOR_ORDER_KEY + " is not a JSON list: " + printable(e.getOriginalMessage()));
        }
        if (names == null || !names.isArray()) {
            throw refuse(file, TENSOR_ORDER_KEY + " is not a JSON list of tensor names");
        }
        List<Entry> ordered = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (JsonNode n : names) {
            if (!n.isTextual() || !byName.containsKey(n.textValue())) {
                throw refuse(file, TENSOR_ORDER_KEY + " names " + printable(n.toString()) + ", which is not a tensor of the file");
            }
            if (!seen.add(n.textValue())) {
                throw refuse(file, TENSOR_ORDER_KEY + " names " + printable(n.textValue()) + " twice");
            }
            ordered.add(byName.get(n.textValue()));
        }
        if (ordered.size() != byName.size()) {
            String missing = byName.keySet().stream().filter(n -> !seen.contains(n)).sorted().findFirst().orElseThrow();
            throw refuse(file, TENSOR_ORDER_KEY + " leaves out tensor " + missing);
        }
        return ordered;
    }

    private static float[] readTensor(FileChannel ch, Path file, Entry e, long dataStart) throws IOException {
        float[] values = new float[e.spec.elementCount()];
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(IO_CHUNK, e.end - e.begin)).order(ByteOrder.LITTLE_ENDIAN);
        long position = dataStart + e.begin;
        int filled = 0;
        while (filled < values.length) {
            int n = Math.min(buffer.capacity() / 4, values.length - filled);
            buffer.clear().limit(n * 4);
            if (!readFully(ch, buffer, position)) {
                throw refuse(file, "truncated while reading tensor " + e.spec.name());
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

    private static String describeDtype(String name, String dtype) {
        String tensor = "tensor " + printable(name) + " has dtype " + printable(dtype);
        if (FLOAT_DTYPES.contains(dtype)) {
            return tensor + " (convert the model with model.float() before saving)";
        }
        if (INTEGER_DTYPES.contains(dtype)) {
            return tensor + " (an integer or boolean buffer, such as BatchNorm's num_batches_tracked, cannot be "
                    + "averaged: leave it out of the saved state_dict and load with strict=False)";
        }
        return tensor + " (not a safetensors dtype pqfl knows)";
    }

    /** A name from the file, shortened and with control and non-ASCII characters escaped, for messages. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 160; i++) {
            char c = s.charAt(i);
            b.append(c >= 32 && c < 127 ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return s.length() > 160 ? b + "..." : b.toString();
    }

    private static IOException refuse(Path file, String what) {
        return new IOException(file + ": " + what);
    }
}
