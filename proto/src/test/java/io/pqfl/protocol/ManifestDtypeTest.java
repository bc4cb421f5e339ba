package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The manifest names each tensor's dtype; float32 is the only one, and naming it must not change any digest. */
class ManifestDtypeTest {
    private static final ModelManifest W_B = new ModelManifest("tiny", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));

    @Test
    void tensorSpec_defaultsToFloat32() {
        assertThat(TensorSpec.of("w", 2, 2).dtype()).isEqualTo(DType.FLOAT32);
        assertThat(new TensorSpec("w", List.of(2, 2))).isEqualTo(new TensorSpec("w", List.of(2, 2), DType.FLOAT32));
        assertThat(TensorSpec.of("w", 2, 3).byteCount()).isEqualTo(24);
        assertThat(DType.FLOAT32.wireName()).isEqualTo(TensorSpec.DTYPE);
    }

    @Test
    void encode_writesTheDtypeName_exactlyAsBefore() {
        // Hand-written from docs/PROTOCOL.md ("Tensor data and the payload digest"): the dtype string "float32"
        // follows each name, so the explicit dtype leaves every existing manifest encoding (and digest) unchanged.
        String expected = "0000000d" + hex("pqfl.manifest") + "0001" + "00000004" + hex("tiny") + "00000002"
                + "00000001" + hex("w") + "00000007" + hex("float32") + "00000002" + "00000002" + "00000002"
                + "00000001" + hex("b") + "00000007" + hex("float32") + "00000001" + "00000002";
        assertThat(HexFormat.of().formatHex(W_B.encode())).isEqualTo(expected);
    }

    @Test
    void fromWire_roundTripsTheDtype() {
        io.pqfl.proto.v1.ModelManifest wire = WireMapping.toWire(W_B);
        assertThat(wire.getTensors(0).getDtype()).isEqualTo("float32");
        assertThat(WireMapping.fromWire(wire)).isEqualTo(W_B);
    }

    @ParameterizedTest
    @ValueSource(strings = {"float16", "bfloat16", "float64", "int64", "F32", "FLOAT32", ""})
    void fromWire_otherDtype_isRefusedNamingTheTensor(String dtype) {
        io.pqfl.proto.v1.ModelManifest wire = WireMapping.toWire(W_B).toBuilder()
                .setTensors(1, WireMapping.toWire(W_B).getTensors(1).toBuilder().setDtype(dtype)).build();
        assertThatThrownBy(() -> WireMapping.fromWire(wire)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tensor b").hasMessageContaining("'" + dtype + "'").hasMessageContaining("float32");
    }

    @Test
    void describeMismatch_namesTheDtype() {
        ModelManifest other = new ModelManifest("tiny", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 3)));
        assertThat(W_B.describeMismatch(other)).isEqualTo("tensor 1: expected b[2] float32, got b[3] float32");
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }
}
