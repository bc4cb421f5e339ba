package io.pqfl.coordinator.store;

import static io.pqfl.coordinator.store.SafeTensors.ARCHITECTURE_KEY;
import static io.pqfl.coordinator.store.SafeTensors.DEFAULT_ARCHITECTURE;
import static io.pqfl.coordinator.store.SafeTensors.F32;
import static io.pqfl.coordinator.store.SafeTensors.JSON;
import static io.pqfl.coordinator.store.SafeTensors.MAX_TENSORS;
import static io.pqfl.coordinator.store.SafeTensors.METADATA;
import static io.pqfl.coordinator.store.SafeTensors.TENSOR_ORDER_KEY;
import static io.pqfl.coordinator.store.SafeTensors.refuse;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.TensorSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The checked JSON header of a safetensors file that {@link SafeTensors#read} reads: the manifest it describes, where
 * each tensor's bytes lie, and the file's metadata.
 *
 * <p>Security: the header comes from a hostile file. {@link #parse} accepts only float32 tensors with known fields,
 * valid names given once and shapes of non-zero elements, whose data offsets tile the data exactly (contiguous, no
 * overlap, no gap, no trailing bytes) with each tensor's byte length equal to its element count times 4; a
 * {@code pqfl.tensor_order} must name every tensor once. Every refusal is an {@link IOException} naming the file and
 * what was wrong.
 *
 * @param manifest the model's manifest, its tensors in the file's order
 * @param entries each tensor's spec and data range, in the manifest's order
 * @param metadata the {@code __metadata__} object (empty when absent)
 */
record SafeTensorsHeader(ModelManifest manifest, List<Entry> entries, Map<String, String> metadata) {
    private static final List<String> FLOAT_DTYPES = List.of("F16", "BF16", "F64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
            "F6_E2M3", "F6_E3M2", "F4");
    private static final List<String> INTEGER_DTYPES = List.of("I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
            "BOOL");

    /** One tensor of the header: its spec and its bytes' range {@code [begin, end)} in the data after the header. */
    record Entry(TensorSpec spec, long begin, long end) {
    }

    /**
     * One streaming pass over the header before it becomes a tree: refuses more than {@link SafeTensors#MAX_TENSORS}
     * tensors, more than {@link SafeTensors#MAX_METADATA_ENTRIES} metadata entries, or more than a tensor entry's
     * worth of tokens per tensor (a tensor entry is about 20 tokens; shapes have at most 8 dimensions).
     */
    private static void countEntries(Path file, byte[] bytes) throws IOException {
        long tokenLimit = 32L * (MAX_TENSORS + 1) + 4L * SafeTensors.MAX_METADATA_ENTRIES;
        int topLevel = 0;
        int metadata = 0;
        long tokens = 0;
        try (JsonParser p = JSON.getFactory().createParser(bytes)) {
            int depth = 0;
            boolean inMetadata = false;
            for (JsonToken t; (t = p.nextToken()) != null; ) {
                if (++tokens > tokenLimit) {
                    throw refuse(file, "the header has more than " + tokenLimit + " JSON tokens; a model of at most "
                            + MAX_TENSORS + " tensors has fewer");
                }
                switch (t) {
                    case START_OBJECT, START_ARRAY -> depth++;
                    case END_OBJECT, END_ARRAY -> {
                        depth--;
                        if (depth == 1) {
                            inMetadata = false;
                        }
                    }
                    case FIELD_NAME -> {
                        if (depth == 1) {
                            inMetadata = METADATA.equals(p.currentName());
                            if (!inMetadata && ++topLevel > MAX_TENSORS) {
                                throw refuse(file, "more than " + MAX_TENSORS + " tensors; at most " + MAX_TENSORS
                                        + " are read");
                            }
                        } else if (depth == 2 && inMetadata && ++metadata > SafeTensors.MAX_METADATA_ENTRIES) {
                            throw refuse(file, "more than " + SafeTensors.MAX_METADATA_ENTRIES
                                    + " __metadata__ entries; at most " + SafeTensors.MAX_METADATA_ENTRIES + " are read");
                        }
                    }
                    default -> { }
                }
            }
        } catch (JsonProcessingException e) {
            throw refuse(file, "the header is not valid JSON: " + printable(e.getOriginalMessage()));
        }
    }

    /**
     * Parses and checks the header {@code bytes} of {@code file}, whose data after the header is {@code dataLength}
     * bytes long.
     */
    static SafeTensorsHeader parse(Path file, byte[] bytes, long dataLength) throws IOException {
        if (bytes[0] != '{') {
            throw refuse(file, "the header is not a JSON object");
        }
        countEntries(file, bytes);
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
        return new SafeTensorsHeader(manifest, ordered, metadata);
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
}
