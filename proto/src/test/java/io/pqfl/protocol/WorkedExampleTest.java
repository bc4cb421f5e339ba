package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** docs/PROTOCOL.md's worked example is what the code produces, and a reader can verify it from the document alone. */
class WorkedExampleTest {
    private static final HexFormat HEX = HexFormat.of();
    private static Properties expected;

    @BeforeAll
    static void load() throws IOException {
        expected = new Properties();
        try (InputStream in = WorkedExampleTest.class.getResourceAsStream("/worked-example/expected.properties")) {
            expected.load(in);
        }
    }

    @Test
    void codeProducesTheDocumentedBytes() throws Exception {
        Map<String, String> actual = WorkedExample.all();
        actual.forEach((k, v) -> assertThat(v).as(k).isEqualTo(expected.getProperty(k)));
    }

    @Test
    void statementFollowsTheDocumentedLayout_encodedIndependently() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf); // DataOutputStream is big-endian, as the document says
        str(out, "pqfl.update-statement");
        out.writeShort(1);
        str(out, "demo-federation");
        out.writeLong(1);
        byte[] nonce = new byte[32];
        for (int i = 0; i < 32; i++) {
            nonce[i] = (byte) i;
        }
        bytes(out, nonce);
        bytes(out, HEX.parseHex(expected.getProperty("baseModelDigest")));
        str(out, "alice");
        str(out, expected.getProperty("keyId"));
        str(out, "ML-DSA-44");
        bytes(out, HEX.parseHex(expected.getProperty("updateDigest")));
        out.writeLong(600);
        assertThat(HEX.formatHex(buf.toByteArray())).isEqualTo(expected.getProperty("statement"));
    }

    @Test
    void signatureVerifiesFromTheRawPublicKeyAlone() {
        assertThatCode(() -> Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("publicKeyRaw"))))
                .verify(HEX.parseHex(expected.getProperty("statement")),
                        SignatureValue.of(SignatureScheme.ML_DSA_44, HEX.parseHex(expected.getProperty("signature")))))
                .doesNotThrowAnyException();
    }

    @Test
    void sessionAndTaskStatements_followTheDocumentedLayout_andTheirSignaturesVerifyFromTheRawKeys() throws IOException {
        ByteArrayOutputStream session = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(session);
        str(out, "pqfl.session-statement");
        out.writeShort(1);
        str(out, "demo-federation");
        str(out, expected.getProperty("coordinator.keyId"));
        str(out, "alice");
        str(out, expected.getProperty("keyId"));
        str(out, "ML-DSA-44");
        byte[] challenge = new byte[32];
        for (int i = 0; i < 32; i++) {
            challenge[i] = (byte) (0xa0 + i);
        }
        bytes(out, challenge);
        assertThat(HEX.formatHex(session.toByteArray())).isEqualTo(expected.getProperty("session.statement"));

        ByteArrayOutputStream task = new ByteArrayOutputStream();
        out = new DataOutputStream(task);
        str(out, "pqfl.task-statement");
        out.writeShort(2);
        str(out, "demo-federation");
        out.writeByte(1); // TRAIN
        out.writeLong(1);
        byte[] nonce = new byte[32];
        for (int i = 0; i < 32; i++) {
            nonce[i] = (byte) i;
        }
        bytes(out, nonce);
        str(out, "alice");
        out.writeLong(0);
        bytes(out, HEX.parseHex(expected.getProperty("baseModelDigest")));
        out.writeInt(1);
        out.writeInt(32);
        out.writeInt(Float.floatToIntBits(0.001f));
        out.writeInt(Float.floatToIntBits(0f));
        str(out, "adam");
        out.writeLong(1_767_225_600_000L);
        str(out, "ML-DSA-44");
        str(out, expected.getProperty("coordinator.keyId"));
        assertThat(HEX.formatHex(task.toByteArray())).isEqualTo(expected.getProperty("task.statement"));

        assertThatCode(() -> {
            Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44, HEX.parseHex(expected.getProperty("publicKeyRaw"))))
                    .verify(session.toByteArray(), SignatureValue.of(SignatureScheme.ML_DSA_44,
                            HEX.parseHex(expected.getProperty("session.signature"))));
            Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44,
                            HEX.parseHex(expected.getProperty("coordinator.publicKeyRaw"))))
                    .verify(task.toByteArray(), SignatureValue.of(SignatureScheme.ML_DSA_44,
                            HEX.parseHex(expected.getProperty("task.signature"))));
        }).doesNotThrowAnyException();
    }

    @Test
    void evaluationStatement_followsTheDocumentedLayout_andItsSignatureVerifiesFromTheRawKey() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf);
        str(out, "pqfl.evaluation-statement");
        out.writeShort(1);
        str(out, "demo-federation");
        out.writeLong(1);
        byte[] nonce = new byte[32];
        for (int i = 0; i < 32; i++) {
            nonce[i] = (byte) i;
        }
        bytes(out, nonce);
        str(out, "alice");
        bytes(out, HEX.parseHex(expected.getProperty("updateDigest")));
        out.writeDouble(0.25); // DataOutputStream writes the IEEE 754 binary64 bits, big-endian
        out.writeLong(200);
        out.writeInt(2);
        str(out, "accuracy");
        out.writeDouble(0.875);
        str(out, "mae");
        out.writeDouble(0.5);
        str(out, "ML-DSA-44");
        str(out, expected.getProperty("keyId"));
        assertThat(HEX.formatHex(buf.toByteArray())).isEqualTo(expected.getProperty("evaluation.statement"));
        assertThatCode(() -> Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("publicKeyRaw"))))
                .verify(buf.toByteArray(), SignatureValue.of(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("evaluation.signature")))))
                .doesNotThrowAnyException();
        EvaluationStatement decoded = EvaluationStatement.decode(buf.toByteArray());
        assertThat(decoded.metrics()).containsExactly(Map.entry("accuracy", 0.875), Map.entry("mae", 0.5));
    }

    @Test
    void partialAggregateStatement_followsTheDocumentedLayout_andBothSignaturesVerifyFromTheRawKeys() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf);
        byte[] childNonce = new byte[32];
        byte[] nonce = new byte[32];
        for (int i = 0; i < 32; i++) {
            childNonce[i] = (byte) i;
            nonce[i] = (byte) (0x20 + i);
        }
        str(out, "pqfl.partial-aggregate-statement");
        out.writeShort(1);
        str(out, "demo-root");
        out.writeLong(1);
        bytes(out, nonce);
        bytes(out, HEX.parseHex(expected.getProperty("baseModelDigest")));
        str(out, "edge-hub");
        str(out, expected.getProperty("coordinator.keyId"));
        str(out, "ML-DSA-44");
        bytes(out, HEX.parseHex(expected.getProperty("updateDigest")));
        out.writeLong(600);
        str(out, "demo-federation");
        out.writeLong(1);
        bytes(out, childNonce);
        bytes(out, HEX.parseHex("5a".repeat(64)));
        out.writeInt(1);
        str(out, "alice");
        bytes(out, HEX.parseHex(expected.getProperty("updateDigest")));
        out.writeLong(600);
        str(out, expected.getProperty("keyId"));
        str(out, "ML-DSA-44");
        bytes(out, HEX.parseHex(expected.getProperty("signature")));
        assertThat(HEX.formatHex(buf.toByteArray())).isEqualTo(expected.getProperty("partial.statement"));
        // The aggregator's signature, with the example coordinator's raw key; the receipt entry's, with alice's, over the
        // update statement she signed in the aggregator's round: the update example's statement.
        assertThatCode(() -> Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("coordinator.publicKeyRaw"))))
                .verify(buf.toByteArray(), SignatureValue.of(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("partial.signature")))))
                .doesNotThrowAnyException();
        PartialAggregateStatement decoded = PartialAggregateStatement.decode(buf.toByteArray());
        PartialReceiptEntry entry = decoded.partial().receipt().get(0);
        byte[] child = decoded.partial().childStatement(entry, decoded.update().baseModelDigest()).encode();
        assertThat(HEX.formatHex(child)).isEqualTo(expected.getProperty("statement"));
        assertThatCode(() -> Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44,
                        HEX.parseHex(expected.getProperty("publicKeyRaw")))).verify(child, entry.signatureValue()))
                .doesNotThrowAnyException();
    }

    @Test
    void evaluateTask_differsFromTheTrainTaskOnlyInItsKindAndModelRound() {
        String train = expected.getProperty("task.statement");
        String evaluate = expected.getProperty("evaluateTask.statement");
        // tag (4 + 19) + version (2) + federation (4 + 15) bytes, then the kind byte: 01 TRAIN, 02 EVALUATE.
        int kindAt = 2 * (4 + 19 + 2 + 4 + 15);
        assertThat(train.substring(kindAt, kindAt + 2)).isEqualTo("01");
        assertThat(evaluate.substring(kindAt, kindAt + 2)).isEqualTo("02");
        assertThat(TaskStatement.decode(HEX.parseHex(evaluate)).kind()).isEqualTo(TaskKind.EVALUATE);
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        bytes(out, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void bytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }
}
