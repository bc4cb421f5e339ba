package io.pqfl.coordinator.store;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.protocol.EvaluationStatement;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SecAggStatement;
import io.pqfl.protocol.UpdateStatement;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The auditable export of a coordinator's ledger (docs/AUDIT.md): one JSON object per line, first the run (federation,
 * coordinator key), then every public key the ledger recorded, then every entry with all its columns (so its hash can
 * be recomputed), its statement's fields decoded, the signer's public key (SubjectPublicKeyInfo, base64) and, where the
 * statement has one, its example count: enough to check every signature with docs/PROTOCOL.md and any implementation of
 * the schemes, without pqfl. {@link #importInto} reads an export back into an empty database so that
 * {@link LedgerVerifier} checks it exactly as it checks a live ledger (nothing is recomputed on import: a changed line
 * shows as a broken hash or signature).
 */
public final class LedgerExport {
    public static final String FORMAT = "pqfl-ledger-export/1";
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();
    private static final HexFormat HEX = HexFormat.of();
    private static final ObjectMapper JSON = mapper();

    private LedgerExport() {
    }

    private static ObjectMapper mapper() {
        SimpleModule m = new SimpleModule("pqfl-values");
        m.addSerializer(PayloadDigest.class, string(PayloadDigest::hex));
        m.addSerializer(RoundNonce.class, string(RoundNonce::hex));
        m.addSerializer(LedgerHead.class, string(LedgerHead::hex));
        m.addSerializer(KeyId.class, string(KeyId::hex));
        m.addSerializer(ClientId.class, string(ClientId::value));
        m.addSerializer(SignatureScheme.class, string(SignatureScheme::displayName));
        return new ObjectMapper().registerModule(m).disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    }

    private static <T> JsonSerializer<T> string(java.util.function.Function<T, String> f) {
        return new JsonSerializer<>() {
            @Override
            public void serialize(T value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                gen.writeString(f.apply(value));
            }
        };
    }

    /** Writes the export of {@code db}'s run and ledger to {@code out}; returns the number of entries written. */
    public static int write(Database db, Writer out) throws SQLException, IOException {
        Ledger ledger = new Ledger(db, java.time.Clock.systemUTC());
        RunStore.RunRecord run = new RunStore(db, ledger, java.time.Clock.systemUTC()).run()
                .orElseThrow(() -> new IllegalArgumentException("the database holds no run: nothing to export"));
        ObjectNode head = JSON.createObjectNode().put("type", "run").put("format", FORMAT)
                .put("federationId", run.federationId()).put("coordinatorKeyId", run.coordinatorKeyId())
                .put("coordinatorPublicKey", B64.encodeToString(run.coordinatorPublicKey()))
                .put("totalRounds", run.totalRounds()).put("config", run.config());
        line(out, head);
        for (String[] k : keys(db)) {
            line(out, JSON.createObjectNode().put("type", "key").put("keyId", k[0]).put("scheme", k[1]).put("publicKey", k[2]));
        }
        int n = 0;
        for (LedgerEntry e : ledger.entries()) {
            ObjectNode o = JSON.createObjectNode().put("type", "entry").put("seq", e.seq()).put("kind", e.kind().name())
                    .put("round", e.round()).put("clientId", e.clientId()).put("keyId", e.keyId()).put("scheme", e.scheme())
                    .put("statement", e.statement() == null ? null : B64.encodeToString(e.statement()))
                    .put("signature", e.signature() == null ? null : B64.encodeToString(e.signature()))
                    .put("payloadDigest", e.payloadDigest() == null ? null : HEX.formatHex(e.payloadDigest()))
                    .put("reason", e.reason()).put("detail", e.detail()).put("recordedAt", e.recordedAt())
                    .put("prevHash", HEX.formatHex(e.prevHash())).put("entryHash", HEX.formatHex(e.entryHash()));
            Optional<byte[]> signer = signerKey(e, run, ledger);
            signer.ifPresent(k -> o.put("publicKey", B64.encodeToString(k)));
            decode(e, o);
            line(out, o);
            n++;
        }
        out.flush();
        return n;
    }

    /** The key that signed {@code e}'s statement: the coordinator's for models, else the recorded client key. */
    private static Optional<byte[]> signerKey(LedgerEntry e, RunStore.RunRecord run, Ledger ledger) throws SQLException {
        if (e.signature() == null) {
            return Optional.empty();
        }
        if (e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED || e.kind() == LedgerEntry.Kind.MODEL_ADOPTED) {
            return Optional.of(run.coordinatorPublicKey());
        }
        return e.keyId() == null ? Optional.empty() : ledger.publicKey(e.keyId());
    }

    /** Adds {@code decoded} (the statement's fields) and {@code numExamples} where the entry's statement has them. */
    private static void decode(LedgerEntry e, ObjectNode o) {
        try {
            Object decoded = switch (e.kind()) {
                case UPDATE_ACCEPTED, UPDATE_REJECTED -> e.statement() == null ? null : UpdateStatement.decode(e.statement());
                case MODEL_PUBLISHED, MODEL_ADOPTED -> ModelStatement.decode(e.statement());
                case EVALUATION_ACCEPTED -> EvaluationStatement.decode(e.statement());
                case CLIENT_ENROLLED -> EnrollmentStatement.decode(e.statement());
                case PARTIAL_AGGREGATE -> PartialAggregateStatement.decode(e.statement());
                case SECAGG_INPUT_ACCEPTED -> SecAggStatement.decode(e.statement());
                case PRIVACY_SPENT -> PrivacySpent.parse(e.round(), e.detail());
                case CLIENT_CERTIFIED -> certificate(e.statement());
                default -> null;
            };
            if (decoded == null) {
                return;
            }
            JsonNode tree = JSON.valueToTree(decoded);
            o.set("decoded", tree);
            if (decoded instanceof UpdateStatement u) {
                o.put("numExamples", u.numExamples());
            } else if (decoded instanceof EvaluationStatement ev) {
                o.put("numExamples", ev.numExamples());
            } else if (decoded instanceof PartialAggregateStatement p) {
                o.put("numExamples", p.update().numExamples());
            }
        } catch (IllegalArgumentException | CertificateException ex) {
            o.put("decodeError", ex.getMessage()); // the verifier names what is wrong with it
        }
    }

    private record Certificate(String subject, String issuer, String serial, String notBefore, String notAfter,
                               String publicKeyAlgorithm) {
    }

    private static Certificate certificate(byte[] der) throws CertificateException {
        X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
        return new Certificate(c.getSubjectX500Principal().getName(), c.getIssuerX500Principal().getName(),
                c.getSerialNumber().toString(16), c.getNotBefore().toInstant().toString(),
                c.getNotAfter().toInstant().toString(), c.getPublicKey().getAlgorithm());
    }

    private static java.util.List<String[]> keys(Database db) throws SQLException {
        java.util.List<String[]> out = new java.util.ArrayList<>();
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "SELECT key_id, scheme, encoded FROM public_keys ORDER BY key_id");
                 var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new String[] {rs.getString(1), rs.getString(2), B64.encodeToString(rs.getBytes(3))});
                }
            }
        }
        return out;
    }

    private static void line(Writer out, JsonNode node) throws IOException {
        out.write(JSON.writeValueAsString(node));
        out.write('\n');
    }

    /**
     * Reads an export into {@code db} (fresh, with no run): the run, the keys and every entry as exported, hashes
     * included, for {@link LedgerVerifier}.
     *
     * @throws IllegalArgumentException naming the line that is not part of an export
     */
    public static void importInto(Path export, Database db) throws IOException, SQLException {
        try (BufferedReader r = Files.newBufferedReader(export, StandardCharsets.UTF_8)) {
            Connection c = db.connection();
            String text;
            int lineNo = 0;
            boolean sawRun = false;
            synchronized (db) {
                while ((text = r.readLine()) != null) {
                    lineNo++;
                    if (text.isBlank()) {
                        continue;
                    }
                    JsonNode n;
                    try {
                        n = JSON.readTree(text);
                    } catch (IOException e) {
                        throw new IllegalArgumentException(export + ": line " + lineNo + " is not JSON");
                    }
                    String type = n.path("type").asText();
                    try {
                        switch (type) {
                            case "run" -> {
                                if (!FORMAT.equals(n.path("format").asText())) {
                                    throw new IllegalArgumentException("format '" + n.path("format").asText() + "', not " + FORMAT);
                                }
                                try (PreparedStatement ps = c.prepareStatement("INSERT INTO runs (federation_id, created_at, "
                                        + "coordinator_key_id, coordinator_public_key, total_rounds, config) VALUES (?, ?, ?, ?, ?, ?)")) {
                                    ps.setString(1, required(n, "federationId"));
                                    ps.setString(2, "imported");
                                    ps.setString(3, required(n, "coordinatorKeyId"));
                                    ps.setBytes(4, B64D.decode(required(n, "coordinatorPublicKey")));
                                    ps.setLong(5, n.path("totalRounds").asLong());
                                    ps.setString(6, n.path("config").asText(""));
                                    ps.executeUpdate();
                                }
                                sawRun = true;
                            }
                            case "key" -> {
                                try (PreparedStatement ps = c.prepareStatement(
                                        "INSERT INTO public_keys (key_id, scheme, encoded) VALUES (?, ?, ?)")) {
                                    ps.setString(1, required(n, "keyId"));
                                    ps.setString(2, required(n, "scheme"));
                                    ps.setBytes(3, B64D.decode(required(n, "publicKey")));
                                    ps.executeUpdate();
                                }
                            }
                            case "entry" -> {
                                try (PreparedStatement ps = c.prepareStatement("INSERT INTO ledger (seq, kind, round, client_id, "
                                        + "key_id, scheme, statement, signature, payload_digest, reason, detail, recorded_at, "
                                        + "prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                                    ps.setLong(1, n.path("seq").asLong());
                                    ps.setString(2, LedgerEntry.Kind.valueOf(required(n, "kind")).name());
                                    ps.setLong(3, n.path("round").asLong());
                                    ps.setString(4, text(n, "clientId"));
                                    ps.setString(5, text(n, "keyId"));
                                    ps.setString(6, text(n, "scheme"));
                                    ps.setBytes(7, base64(n, "statement"));
                                    ps.setBytes(8, base64(n, "signature"));
                                    ps.setBytes(9, hex(n, "payloadDigest"));
                                    ps.setString(10, text(n, "reason"));
                                    ps.setString(11, text(n, "detail"));
                                    ps.setString(12, required(n, "recordedAt"));
                                    ps.setBytes(13, HEX.parseHex(required(n, "prevHash")));
                                    ps.setBytes(14, HEX.parseHex(required(n, "entryHash")));
                                    ps.executeUpdate();
                                }
                            }
                            default -> throw new IllegalArgumentException("unknown line type '" + type + "'");
                        }
                    } catch (IllegalArgumentException | SQLException e) {
                        throw new IllegalArgumentException(export + ": line " + lineNo + ": " + e.getMessage(), e);
                    }
                }
            }
            if (!sawRun) {
                throw new IllegalArgumentException(export + ": no run line: not a pqfl ledger export");
            }
        }
    }

    private static String required(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing " + field);
        }
        return v.asText();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static byte[] base64(JsonNode n, String field) {
        String s = text(n, field);
        return s == null ? null : B64D.decode(s);
    }

    private static byte[] hex(JsonNode n, String field) {
        String s = text(n, field);
        return s == null ? null : HEX.parseHex(s);
    }
}
