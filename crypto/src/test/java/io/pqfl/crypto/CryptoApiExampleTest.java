package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example of the {@code io.pqfl.crypto} package documentation, run as written (file names under a temp dir). */
class CryptoApiExampleTest {
    @TempDir
    Path dir;

    @Test
    void packageExample_signsVerifiesAndRoundTripsTheKeyFile() throws Exception {
        byte[] modelBytes = new byte[100_000];
        SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
        PayloadDigest digest = new PayloadHasher().update(modelBytes).finish();
        byte[] statement = ("round 7 of federation demo: " + digest.hex()).getBytes(StandardCharsets.UTF_8);

        SignatureValue signature = Signer.create(key).sign(statement);
        Verifier.create(key.verifyingKey()).verify(statement, signature);

        KeyPem.writeKeyPair(key, dir.resolve("alice.key"), dir.resolve("alice.pub"), null);
        VerifyingKey pinned = KeyPem.readVerifyingKey(dir.resolve("alice.pub"));
        String keyId = pinned.keyId().hex();

        assertThat(keyId).hasSize(32).isEqualTo(key.keyId().hex());
        // The pinned key verifies the signature; a statement changed by one byte does not.
        Verifier.create(pinned).verify(statement, signature);
        statement[statement.length - 1] ^= 1;
        assertThatThrownBy(() -> Verifier.create(pinned).verify(statement, signature))
                .isInstanceOf(SignatureVerificationException.class);
    }
}
