package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluationStatementTest {
    private static final SigningKey KEY = Keys.generate(SignatureScheme.ML_DSA_44);
    private static final PayloadDigest MODEL = ProtocolFixtures.tiny(1).digest();

    private static EvaluationStatement statement(double loss, long examples, Map<String, Double> metrics) {
        return new EvaluationStatement("fed", 3, RoundNonce.of(new byte[32]), new ClientId("c1"), MODEL, loss, examples,
                metrics, KEY.scheme(), KEY.keyId());
    }

    @Test
    void encodeDecode_roundTrips_withMetricsSortedByName() {
        EvaluationStatement s = statement(-0.5, 10, Map.of("rmse", 1.5, "accuracy", 0.75, "a.b_1", 0.0));
        EvaluationStatement back = EvaluationStatement.decode(s.encode());
        assertThat(back).isEqualTo(s);
        assertThat(back.metrics().keySet()).containsExactly("a.b_1", "accuracy", "rmse");
    }

    @Test
    void signAndVerify_andAnAlteredStatementFails() throws Exception {
        EvaluationStatement s = statement(0.25, 100, Map.of("accuracy", 0.9));
        SignatureValue sig = s.sign(Signer.create(KEY));
        assertThatCode(() -> s.verify(KEY.verifyingKey(), sig)).doesNotThrowAnyException();
        assertThatThrownBy(() -> statement(0.24, 100, Map.of("accuracy", 0.9)).verify(KEY.verifyingKey(), sig))
                .isInstanceOf(SignatureVerificationException.class);
        assertThatThrownBy(() -> statement(0.25, 100, Map.of("accuracy", 0.91)).verify(KEY.verifyingKey(), sig))
                .isInstanceOf(SignatureVerificationException.class);
        SigningKey other = Keys.generate(SignatureScheme.ML_DSA_44);
        assertThatThrownBy(() -> s.verify(other.verifyingKey(), sig)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void constructor_refusesNonFiniteOrHugeValues_badNames_andTooManyMetrics() {
        assertThatThrownBy(() -> statement(Double.NaN, 1, Map.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(Double.POSITIVE_INFINITY, 1, Map.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(1e13, 1, Map.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(0, 1, Map.of("acc", Double.NaN))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(0, 1, Map.of("Accuracy", 1.0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(0, 1, Map.of("a".repeat(65), 1.0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> statement(0, -1, Map.of())).isInstanceOf(IllegalArgumentException.class);
        Map<String, Double> many = new HashMap<>();
        for (int i = 0; i < 33; i++) {
            many.put("m" + i, 1.0);
        }
        assertThatThrownBy(() -> statement(0, 1, many)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decode_refusesUnsortedOrDuplicateNames_trailingBytes_andOtherVersions() {
        byte[] good = statement(0.5, 1, Map.of("a", 1.0, "b", 2.0)).encode();
        String hex = java.util.HexFormat.of().formatHex(good);
        // Swap the two names "a" and "b" (same lengths): the names are then descending.
        String swapped = hex.replace("0000000161" + "3ff0000000000000", "XX").replace("0000000162" + "4000000000000000",
                "0000000161" + "3ff0000000000000").replace("XX", "0000000162" + "4000000000000000");
        assertThat(swapped).isNotEqualTo(hex);
        assertThatThrownBy(() -> EvaluationStatement.decode(java.util.HexFormat.of().parseHex(swapped)))
                .hasMessageContaining("ascending");
        String duplicated = hex.replace("0000000162" + "4000000000000000", "0000000161" + "4000000000000000");
        assertThatThrownBy(() -> EvaluationStatement.decode(java.util.HexFormat.of().parseHex(duplicated)))
                .hasMessageContaining("ascending");
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> EvaluationStatement.decode(trailing)).hasMessageContaining("trailing");
        byte[] v2 = good.clone();
        v2[4 + EvaluationStatement.TAG.length() + 1] = 2;
        assertThatThrownBy(() -> EvaluationStatement.decode(v2)).hasMessageContaining("version");
    }

    @Test
    void taskStatement_kindIsSigned_andEachKindKeepsItsModelRoundRule() {
        TrainingConfig c = TrainingConfig.defaults();
        assertThatThrownBy(() -> new TaskStatement("fed", TaskKind.TRAIN, 2, RoundNonce.of(new byte[32]), new ClientId("c1"),
                2, MODEL, c, 0, KEY.scheme(), KEY.keyId())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TaskStatement("fed", TaskKind.EVALUATE, 2, RoundNonce.of(new byte[32]),
                new ClientId("c1"), 1, MODEL, c, 0, KEY.scheme(), KEY.keyId())).isInstanceOf(IllegalArgumentException.class);
        TaskStatement eval = new TaskStatement("fed", TaskKind.EVALUATE, 2, RoundNonce.of(new byte[32]), new ClientId("c1"),
                2, MODEL, c, 0, KEY.scheme(), KEY.keyId());
        assertThat(TaskStatement.decode(eval.encode())).isEqualTo(eval);
        byte[] sig = Signer.create(KEY).sign(eval.encode()).bytes();
        // The same task presented as TRAIN (with a model round a training task could have) does not verify.
        TaskStatement asTrain = new TaskStatement("fed", TaskKind.TRAIN, 2, RoundNonce.of(new byte[32]), new ClientId("c1"),
                1, MODEL, c, 0, KEY.scheme(), KEY.keyId());
        assertThatThrownBy(() -> asTrain.verify(KEY.verifyingKey(), sig)).isInstanceOf(ModelRejectedException.class);
        byte[] badKind = eval.encode();
        badKind[4 + TaskStatement.TAG.length() + 2 + 4 + 3] = 3;
        assertThatThrownBy(() -> TaskStatement.decode(badKind)).hasMessageContaining("task kind");
    }

    @Test
    void wire_taskHeaderWithoutKind_isRefused() {
        var header = io.pqfl.proto.v1.TaskHeader.newBuilder().setFederationId("fed").setRound(1)
                .setNonce(com.google.protobuf.ByteString.copyFrom(new byte[32])).setClientId("c1").build();
        assertThatThrownBy(() -> WireMapping.taskStatement(header, MODEL, KEY.scheme(), KEY.keyId()))
                .hasMessageContaining("task kind");
    }
}
