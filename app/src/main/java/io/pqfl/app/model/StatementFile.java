package io.pqfl.app.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.protocol.DType;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The signed model statement written beside an exported model ({@code MODEL.safetensors.statement.json}): the
 * canonical statement bytes ({@code statement}, base64; docs/PROTOCOL.md, "Model statement") and the coordinator's
 * signature over exactly those bytes ({@code signature}, base64), plus the statement's fields spelled out for people
 * and the model's manifest. Only {@code statement} and {@code signature} are trusted when verifying; the readable
 * fields must agree with the decoded statement (so an edited file is refused, not silently believed), and the
 * manifest, which no signature covers, only helps explain a digest mismatch.
 */
final class StatementFile {
    static final String FORMAT = "pqfl.model-statement+json/1";
    /** A bound on what is read: a receipt of 100,000 clients is about 30 MB of JSON. */
    static final long MAX_BYTES = 64L << 20;
    static final String SUFFIX = ".statement.json";

    /** Duplicate keys are refused: a person (or a first-wins parser) would read another value than the check did. */
    private static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(SerializationFeature.INDENT_OUTPUT);
    /** The fields a statement file has besides the readable statement's. */
    private static final java.util.Set<String> OTHER_FIELDS = java.util.Set.of("statement", "signature", "manifest");

    private StatementFile() {
    }

    /** Where the statement of {@code model} is kept: {@code MODEL.statement.json}. */
    static Path beside(Path model) {
        return model.resolveSibling(model.getFileName() + SUFFIX);
    }

    static void write(Path file, SignedModel signed, ModelManifest manifest) throws IOException {
        ObjectNode root = readable(signed.statement());
        root.put("signature", Base64.getEncoder().encodeToString(signed.signature().bytes()));
        root.put("statement", Base64.getEncoder().encodeToString(signed.statement().encode()));
        ObjectNode m = root.putObject("manifest");
        m.put("architecture", manifest.architecture());
        ArrayNode tensors = m.putArray("tensors");
        for (TensorSpec t : manifest.tensors()) {
            ObjectNode n = tensors.addObject().put("name", t.name()).put("dtype", t.dtype().wireName());
            t.shape().forEach(n.putArray("shape")::add);
        }
        Files.write(file, JSON.writeValueAsBytes(root));
    }

    /** What a statement file holds once its statement is decoded and its readable fields checked against it. */
    record Read(SignedModel signed, byte[] encoded, JsonNode manifest) {
    }

    static Read read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException(file + ": " + size + " bytes is too large for a model statement");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText())) {
            throw new IOException(file + ": not a pqfl model statement file (format " + FORMAT + ")");
        }
        byte[] encoded = base64(file, root, "statement");
        byte[] signature = base64(file, root, "signature");
        ModelStatement statement;
        try {
            statement = ModelStatement.decode(encoded);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": the statement is not a canonical pqfl model statement: " + e.getMessage());
        }
        // Each readable field must say what the signed statement says: whoever reads the JSON must not be misled.
        ObjectNode expected = readable(statement);
        for (Map.Entry<String, JsonNode> e : expected.properties()) {
            // Compared as JSON text: a number parsed back is an int node where the written one was a long node.
            if (!e.getValue().toString().equals(String.valueOf(root.get(e.getKey())))) {
                throw new IOException(file + ": field '" + e.getKey() + "' was edited: it says " + root.get(e.getKey())
                        + ", the signed statement says " + e.getValue());
            }
        }
        // No readable field the format does not have: it would tell a reader something no signature covers.
        for (String name : (Iterable<String>) root::fieldNames) {
            if (!expected.has(name) && !OTHER_FIELDS.contains(name)) {
                throw new IOException(file + ": unknown field '" + printable(name) + "': a statement file holds the "
                        + "signed statement's fields, 'statement', 'signature' and 'manifest' only");
            }
        }
        SignedModel signed = new SignedModel(statement, SignatureValue.of(statement.scheme(), signature));
        return new Read(signed, encoded, root.get("manifest"));
    }

    private static ObjectNode readable(ModelStatement s) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("federation", s.federationId());
        root.put("round", s.modelRound());
        root.put("model_digest", s.modelDigest().hex());
        root.put("parent_model_digest", hexOrNull(s.parentModelDigest()));
        root.put("ledger_head", s.ledgerHead().hex());
        root.put("strategy_state_digest", hexOrNull(s.strategyStateDigest()));
        ArrayNode receipt = root.putArray("receipt");
        for (ReceiptEntry r : s.receipt()) {
            receipt.addObject().put("client_id", r.clientId().value()).put("update_digest", r.updateDigest().hex())
                    .put("num_examples", r.numExamples());
        }
        root.put("scheme", s.scheme().displayName());
        root.put("key_id", s.coordinatorKeyId().hex());
        return root;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(64).forEach(c -> b.append(c >= 32 && c < 127 ? Character.toString(c) : String.format("\\u%04x", c)));
        return s.length() > 64 ? b + "..." : b.toString();
    }

    private static String hexOrNull(PayloadDigest d) {
        return d == null ? null : d.hex();
    }

    private static byte[] base64(Path file, JsonNode root, String field) throws IOException {
        JsonNode n = root.get(field);
        if (n == null || !n.isTextual()) {
            throw new IOException(file + ": '" + field + "' is missing");
        }
        try {
            return Base64.getDecoder().decode(n.textValue());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": '" + field + "' is not base64: " + e.getMessage());
        }
    }

    /** The manifest the statement file lists (not signed), or null when it lists none or an unreadable one. */
    static ModelManifest listedManifest(JsonNode node) {
        if (node == null || !node.isObject()) {
            return null;
        }
        try {
            List<TensorSpec> tensors = new ArrayList<>();
            for (JsonNode t : node.path("tensors")) {
                List<Integer> shape = new ArrayList<>();
                t.path("shape").forEach(d -> shape.add(d.intValue()));
                String name = t.path("name").asText();
                tensors.add(new TensorSpec(name, shape, DType.fromWireName(name, t.path("dtype").asText())));
            }
            return new ModelManifest(node.path("architecture").asText(), tensors);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
