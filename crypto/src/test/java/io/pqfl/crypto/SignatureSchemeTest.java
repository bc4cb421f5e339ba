package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SignatureSchemeTest {
    @Test
    void covers_threeMlDsa_twoFalcon_twelveSlhDsa_twoClassical() {
        assertThat(Arrays.stream(SignatureScheme.values()).filter(s -> s.family() == SignatureScheme.Family.ML_DSA)).hasSize(3);
        assertThat(Arrays.stream(SignatureScheme.values()).filter(s -> s.family() == SignatureScheme.Family.FALCON)).hasSize(2);
        assertThat(Arrays.stream(SignatureScheme.values()).filter(s -> s.family() == SignatureScheme.Family.SLH_DSA)).hasSize(12);
        assertThat(Arrays.stream(SignatureScheme.values()).filter(s -> !s.isPostQuantum()))
                .containsExactlyInAnyOrder(SignatureScheme.ED25519, SignatureScheme.ECDSA_P256);
    }

    @ParameterizedTest
    @CsvSource({
        "ML-DSA-65, ML_DSA_65",
        "ml-dsa-65, ML_DSA_65",
        "Dilithium3, ML_DSA_65",
        "ML_DSA_44, ML_DSA_44",
        "Falcon-512, FALCON_512",
        "FN-DSA-1024, FALCON_1024",
        "SLH-DSA-SHAKE-256f, SLH_DSA_SHAKE_256F",
        "SPHINCS+-SHA2-128s-simple, SLH_DSA_SHA2_128S",
        "ed25519, ED25519",
        "ECDSA-P256, ECDSA_P256",
    })
    void parse_acceptsStandardPreStandardAndConstantNames(String name, SignatureScheme expected) {
        assertThat(SignatureScheme.parse(name)).isEqualTo(expected);
    }

    @Test
    void parse_unknownName_listsValidSchemes() {
        assertThatThrownBy(() -> SignatureScheme.parse("ML-DSA-99"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown signature scheme 'ML-DSA-99'")
                .hasMessageContaining("ML-DSA-65")
                .hasMessageContaining("SLH-DSA-SHAKE-256f");
    }

    @Test
    void levels_matchTheStandards() {
        assertThat(SignatureScheme.ML_DSA_44.nistLevel()).isEqualTo(2);
        assertThat(SignatureScheme.ML_DSA_65.nistLevel()).isEqualTo(3);
        assertThat(SignatureScheme.ML_DSA_87.nistLevel()).isEqualTo(5);
        assertThat(SignatureScheme.FALCON_512.nistLevel()).isEqualTo(1);
        assertThat(SignatureScheme.FALCON_1024.nistLevel()).isEqualTo(5);
        assertThat(SignatureScheme.SLH_DSA_SHAKE_192F.nistLevel()).isEqualTo(3);
        assertThat(SignatureScheme.ED25519.nistLevel()).isZero();
    }
}
