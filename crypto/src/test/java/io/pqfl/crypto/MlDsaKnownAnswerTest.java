package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.testing.TestKeys;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Verifies a published ML-DSA-44 vector (Wycheproof; see the resource file for its source). */
class MlDsaKnownAnswerTest {
    private static byte[] publicKey;
    private static byte[] message;
    private static byte[] signature;

    @BeforeAll
    static void load() throws Exception {
        Properties p = new Properties();
        try (InputStream in = MlDsaKnownAnswerTest.class.getResourceAsStream("/kat/mldsa44_wycheproof_tc1.properties")) {
            p.load(in);
        }
        HexFormat hex = HexFormat.of();
        publicKey = hex.parseHex(p.getProperty("publicKey"));
        message = hex.parseHex(p.getProperty("message"));
        signature = hex.parseHex(p.getProperty("signature"));
    }

    private static void verify(byte[] pk, byte[] msg, byte[] sig) throws Exception {
        Verifier.create(VerifyingKey.fromRaw(SignatureScheme.ML_DSA_44, pk))
                .verify(msg, SignatureValue.of(SignatureScheme.ML_DSA_44, sig));
    }

    @Test
    void publishedValidSignature_verifies() {
        assertThatCode(() -> verify(publicKey, message, signature)).doesNotThrowAnyException();
    }

    @Test
    void publishedSignature_withFlippedByte_isRejected() {
        assertThatThrownBy(() -> verify(publicKey, message, TestKeys.flip(signature, 100)))
                .isInstanceOf(SignatureMismatchException.class);
    }

    @Test
    void publishedSignature_onOtherMessage_isRejected() {
        assertThatThrownBy(() -> verify(publicKey, TestKeys.flip(message, 0), signature))
                .isInstanceOf(SignatureMismatchException.class);
    }
}
