package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/test-vectors/statements.json, the signed-statement test vectors published for other implementations, is what the
 * code produces (each signed statement of docs/PROTOCOL.md's worked examples, with its key, plus altered copies that must
 * not verify), and every vector verifies, or fails to, as it says.
 */
class TestVectorsTest {
    static final Path FILE = Path.of("..", "docs", "test-vectors", "statements.json");
    private static final HexFormat HEX = HexFormat.of();

    private record Vector(String name, String tag, SignatureScheme scheme, String publicKeyRaw, String statement,
                          String signature, boolean valid, String comment) {
    }

    private static List<Vector> vectors() throws Exception {
        Map<String, String> all = WorkedExample.all();
        SigningKey alice = WorkedExample.key();
        SigningKey coordinator = WorkedExample.coordinatorKey();
        String aliceKey = HEX.formatHex(alice.verifyingKey().raw());
        String coordinatorKey = HEX.formatHex(coordinator.verifyingKey().raw());
        List<Vector> out = new ArrayList<>();
        out.add(new Vector("update", UpdateStatement.TAG, alice.scheme(), aliceKey, all.get("statement"), all.get("signature"),
                true, "a client's update statement (PROTOCOL.md, Update statement)"));
        out.add(new Vector("session", SessionStatement.TAG, alice.scheme(), aliceKey, all.get("session.statement"),
                all.get("session.signature"), true, "a client's proof of possession at Hello"));
        out.add(new Vector("task", TaskStatement.TAG, coordinator.scheme(), coordinatorKey, all.get("task.statement"),
                all.get("task.signature"), true, "the coordinator's task statement for alice"));
        out.add(new Vector("evaluation", EvaluationStatement.TAG, alice.scheme(), aliceKey, all.get("evaluation.statement"),
                all.get("evaluation.signature"), true, "a client's evaluation statement"));
        out.add(new Vector("partial-aggregate", PartialAggregateStatement.TAG, coordinator.scheme(), coordinatorKey,
                all.get("partial.statement"), all.get("partial.signature"), true, "an aggregator's partial-aggregate statement"));
        // Altered copies: a verifier must refuse each.
        out.add(new Vector("update-signature-altered", UpdateStatement.TAG, alice.scheme(), aliceKey, all.get("statement"),
                flipLastByte(all.get("signature")), false, "the update vector with the signature's last byte flipped"));
        out.add(new Vector("update-example-count-altered", UpdateStatement.TAG, alice.scheme(), aliceKey,
                flipLastByte(all.get("statement")), all.get("signature"), false,
                "the update vector claiming 601 examples instead of 600 (the statement's last byte)"));
        out.add(new Vector("task-wrong-key", TaskStatement.TAG, alice.scheme(), aliceKey, all.get("task.statement"),
                all.get("task.signature"), false, "the coordinator's task statement checked against a client's key"));
        return out;
    }

    private static String flipLastByte(String hex) {
        byte[] b = HEX.parseHex(hex);
        b[b.length - 1] ^= 1;
        return HEX.formatHex(b);
    }

    /** The file's text: hand-written JSON so the layout is stable and reviewable. */
    private static String render(List<Vector> vectors) {
        StringBuilder b = new StringBuilder();
        b.append("{\n  \"format\": \"pqfl-test-vectors/1\",\n");
        b.append("  \"description\": \"Signed statements of the pqfl protocol (docs/PROTOCOL.md). For each vector, verify ")
                .append("'signature' over the bytes of 'statement' with the raw public key 'publicKeyRaw' of 'scheme' ")
                .append("(FIPS 204, empty context); 'valid' says whether that must succeed. Hex throughout.\",\n");
        b.append("  \"vectors\": [\n");
        for (int i = 0; i < vectors.size(); i++) {
            Vector v = vectors.get(i);
            b.append("    {\n")
                    .append("      \"name\": \"").append(v.name()).append("\",\n")
                    .append("      \"comment\": \"").append(v.comment()).append("\",\n")
                    .append("      \"statementTag\": \"").append(v.tag()).append("\",\n")
                    .append("      \"scheme\": \"").append(v.scheme().displayName()).append("\",\n")
                    .append("      \"publicKeyRaw\": \"").append(v.publicKeyRaw()).append("\",\n")
                    .append("      \"statement\": \"").append(v.statement()).append("\",\n")
                    .append("      \"signature\": \"").append(v.signature()).append("\",\n")
                    .append("      \"valid\": ").append(v.valid()).append('\n')
                    .append("    }").append(i + 1 < vectors.size() ? "," : "").append('\n');
        }
        b.append("  ]\n}\n");
        return b.toString();
    }

    @Test
    void thePublishedFileIsWhatTheCodeProduces() throws Exception {
        String expected = render(vectors());
        String published = Files.exists(FILE) ? Files.readString(FILE, StandardCharsets.UTF_8) : "";
        if (!expected.equals(published)) {
            Path fresh = Path.of("target", "statements.json");
            Files.writeString(fresh, expected, StandardCharsets.UTF_8);
            throw new AssertionError(FILE + " is not what the code produces; the current vectors are in " + fresh.toAbsolutePath());
        }
    }

    @Test
    void everyPublishedVectorVerifiesExactlyWhenItSaysItDoes() throws Exception {
        String text = Files.readString(FILE, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"name\": \"([^\"]+)\".*?\"scheme\": \"([^\"]+)\",\\s*\"publicKeyRaw\": \"([0-9a-f]+)\","
                + "\\s*\"statement\": \"([0-9a-f]+)\",\\s*\"signature\": \"([0-9a-f]+)\",\\s*\"valid\": (true|false)",
                Pattern.DOTALL).matcher(text);
        int n = 0;
        while (m.find()) {
            SignatureScheme scheme = SignatureScheme.parse(m.group(2));
            VerifyingKey key = VerifyingKey.fromRaw(scheme, HEX.parseHex(m.group(3)));
            boolean verifies;
            try {
                Verifier.create(key).verify(HEX.parseHex(m.group(4)), SignatureValue.of(scheme, HEX.parseHex(m.group(5))));
                verifies = true;
            } catch (SignatureVerificationException | IllegalArgumentException e) {
                verifies = false;
            }
            assertThat(verifies).as(m.group(1)).isEqualTo(Boolean.parseBoolean(m.group(6)));
            n++;
        }
        assertThat(n).isEqualTo(8);
    }
}
