package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.testing.CraftedKeys;
import io.pqfl.crypto.testing.TestKeys;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KeyPemTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void roundTrip_everyScheme_keepsSchemeAndKeyIdAndStillSigns(SignatureScheme scheme) throws Exception {
        SigningKey key = TestKeys.key(scheme);
        Path priv = dir.resolve("k.key");
        Path pub = dir.resolve("k.pub");
        KeyPem.writeKeyPair(key, priv, pub, null);

        VerifyingKey readPublic = KeyPem.readVerifyingKey(pub);
        SigningKey readPrivate = KeyPem.readSigningKey(priv, null);
        assertThat(readPublic).isEqualTo(key.verifyingKey());
        assertThat(readPrivate.scheme()).isEqualTo(scheme);
        assertThat(readPrivate.keyId()).isEqualTo(key.keyId());
        assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----");
        assertThat(Files.readString(priv)).startsWith("-----BEGIN PRIVATE KEY-----");

        if (scheme.family() != SignatureScheme.Family.SLH_DSA || scheme.displayName().endsWith("f")) {
            SignatureValue sig = Signer.create(readPrivate).sign(TestKeys.MESSAGE);
            assertThatCode(() -> Verifier.create(key.verifyingKey()).verify(TestKeys.MESSAGE, sig)).doesNotThrowAnyException();
        }
    }

    @Test
    void privateKeyFile_isOwnerOnly() throws Exception {
        KeyPem.writeKeyPair(TestKeys.key(SignatureScheme.ML_DSA_65), dir.resolve("a.key"), dir.resolve("a.pub"), null);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("a.key")))).isEqualTo("rw-------");
    }

    @Test
    void writeKeyPair_existingFile_refusesAndLeavesItAlone() throws Exception {
        Path pub = dir.resolve("a.pub");
        Files.writeString(pub, "keep me");
        assertThatThrownBy(() -> KeyPem.writeKeyPair(TestKeys.key(SignatureScheme.ML_DSA_65), dir.resolve("a.key"), pub, null))
                .isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining("a.pub");
        assertThat(Files.readString(pub)).isEqualTo("keep me");
        assertThat(dir.resolve("a.key")).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_65", "FALCON_512", "SLH_DSA_SHA2_128F", "ECDSA_P256"})
    void encryptedRoundTrip_rightPasswordReads_wrongPasswordThrows(SignatureScheme scheme) throws Exception {
        SigningKey key = TestKeys.key(scheme);
        Path priv = dir.resolve("e.key");
        KeyPem.writeKeyPair(key, priv, dir.resolve("e.pub"), "correct horse".toCharArray());
        assertThat(Files.readString(priv)).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");

        assertThat(KeyPem.readSigningKey(priv, "correct horse".toCharArray()).keyId()).isEqualTo(key.keyId());
        assertThatThrownBy(() -> KeyPem.readSigningKey(priv, "wrong".toCharArray()))
                .isInstanceOf(WrongPasswordException.class)
                .hasMessageContaining("e.key")
                .hasMessageContaining("wrong password");
        assertThatThrownBy(() -> KeyPem.readSigningKey(priv, null))
                .isInstanceOf(WrongPasswordException.class)
                .hasMessageContaining("password is required");
    }

    @Test
    void corruptPem_throwsKeyFormatNamingTheFile() throws Exception {
        String good = KeyPem.encodePublic(TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        String[] lines = good.split("\n");
        lines[3] = "!!!!" + lines[3].substring(4);
        Path corrupt = dir.resolve("corrupt.pub");
        Files.writeString(corrupt, String.join("\n", lines));
        assertThatThrownBy(() -> KeyPem.readVerifyingKey(corrupt))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining("corrupt.pub");

        Path garbage = dir.resolve("garbage.key");
        Files.writeString(garbage, "this is not a key\n");
        assertThatThrownBy(() -> KeyPem.readSigningKey(garbage, null))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining("garbage.key")
                .hasMessageContaining("no PEM block");
    }

    @Test
    void truncatedKey_throwsKeyFormat() throws Exception {
        String good = KeyPem.encodePublic(TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        String[] lines = good.split("\n");
        // Drop the middle of the base64 body but keep a syntactically valid PEM frame.
        String truncated = lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n" + lines[lines.length - 1] + "\n";
        assertThatThrownBy(() -> KeyPem.decodePublic(truncated)).isInstanceOf(KeyFormatException.class);
    }

    @Test
    void publicKeyGivenWherePrivateExpected_saysSo() throws Exception {
        String pub = KeyPem.encodePublic(TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        assertThatThrownBy(() -> KeyPem.decodePrivate(pub, null))
                .isInstanceOf(KeyFormatException.class)
                .hasMessage("holds a PUBLIC KEY; expected a PRIVATE KEY or ENCRYPTED PRIVATE KEY");
    }

    @Test
    void privateKeyGivenWherePublicExpected_saysSo() throws Exception {
        Path priv = dir.resolve("a.key");
        KeyPem.writeKeyPair(TestKeys.key(SignatureScheme.ML_DSA_44), priv, dir.resolve("a.pub"), null);
        assertThatThrownBy(() -> KeyPem.readVerifyingKey(priv))
                .isInstanceOf(KeyFormatException.class)
                .hasMessage(priv + ": holds a PRIVATE KEY; expected a PUBLIC KEY");
    }

    @Test
    void opensslTraditionalEcPrivateKey_readsAsEcdsaP256() throws Exception {
        SigningKey key = TestKeys.key(SignatureScheme.ECDSA_P256);
        // What `openssl ecparam -name prime256v1 -genkey` writes: the SEC 1 structure inside the PKCS#8 one.
        byte[] sec1 = PrivateKeyInfo.getInstance(key.toJca().getEncoded()).parsePrivateKey().toASN1Primitive().getEncoded();
        String pem = CraftedKeys.pem("EC PRIVATE KEY", sec1);
        assertThat(KeyPem.decodePrivate(pem, null).keyId()).isEqualTo(key.keyId());
    }
}
