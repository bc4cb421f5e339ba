package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.proto.v1.LocalMetrics;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientMetricsTest {
    @Test
    void check_wellFormed_copiesSortedByName() {
        Map<String, Double> in = new HashMap<>(Map.of("loss", 0.5, "eval_accuracy", 0.9, "f1.macro", 0.7));
        Map<String, Double> out = ClientMetrics.check(in);
        in.put("loss", 9.0);
        assertThat(out).containsExactly(Map.entry("eval_accuracy", 0.9), Map.entry("f1.macro", 0.7), Map.entry("loss", 0.5));
    }

    @Test
    void check_badName_namesIt() {
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("Loss", 1.0))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'Loss'");
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("", 1.0))).hasMessageContaining("''");
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("a".repeat(65), 1.0))).hasMessageContaining("...'");
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("bad\nname", 1.0))).hasMessageContaining("bad\\u000aname");
    }

    @Test
    void check_nonFinite_namesTheMetric() {
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("loss", Double.NaN))).hasMessageContaining("'loss' is NaN");
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("mae", Double.POSITIVE_INFINITY)))
                .hasMessageContaining("'mae' is Infinity");
    }

    @Test
    void check_beyondTheMagnitudeBound_namesTheMetric() {
        assertThat(ClientMetrics.check(Map.of("big", ClientMetrics.MAX_ABS, "small", -ClientMetrics.MAX_ABS))).hasSize(2);
        assertThatThrownBy(() -> ClientMetrics.check(Map.of("big", 1e13)))
                .hasMessage("metric 'big' is 1.0E13, beyond ±1.0E12");
        assertThatThrownBy(() -> ClientMetrics.checkValue(-1e13, "loss")).hasMessageContaining("loss is -1.0E13");
        assertThat(ClientMetrics.inBounds(1e12)).isTrue();
        assertThat(ClientMetrics.inBounds(Double.NaN)).isFalse();
        assertThat(ClientMetrics.inBounds(-1e12 - 1e6)).isFalse();
    }

    @Test
    void check_tooMany_refused() {
        Map<String, Double> many = new HashMap<>();
        for (int i = 0; i <= ClientMetrics.MAX_ENTRIES; i++) {
            many.put("m" + i, 1.0);
        }
        assertThatThrownBy(() -> ClientMetrics.check(many)).hasMessageContaining("at most 32 metrics, got 33");
        many.remove("m0");
        assertThat(ClientMetrics.check(many)).hasSize(32);
    }

    @Test
    void fromWire_updateHeaderWithBadMetrics_isMalformed() {
        var key = Keys.generate(SignatureScheme.ML_DSA_44);
        var header = new UpdateHeader("fed", 1, RoundNonce.of(new byte[32]), new ClientId("c1"), key.keyId(), key.scheme(),
                PayloadDigest.of(new byte[] {1}), new ModelManifest("m", java.util.List.of(TensorSpec.of("w", 2))), 10, 8);
        var wire = WireMapping.toWire(header);
        assertThat(WireMapping.fromWire(wire.toBuilder().setMetrics(LocalMetrics.newBuilder().putMetrics("loss", 0.1))
                .build())).isEqualTo(header);
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder()
                .setMetrics(LocalMetrics.newBuilder().putMetrics("loss", Double.NaN)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("local metrics: metric 'loss' is NaN, not a finite number");
    }
}
