package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.testing.CraftedKeys;
import io.pqfl.crypto.testing.CraftedKeys.SecretVector;
import io.pqfl.crypto.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bouncycastle.jcajce.interfaces.MLDSAPrivateKey;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An ML-DSA private key that comes without its seed (FIPS 204's expanded form, as the JDK writes it) is held
 * to FIPS 204: every s1 and s2 coefficient in [-eta, eta], and tr = SHAKE256(public key). Keys with their
 * seed, and valid keys without it, read as before.
 */
class MlDsaExpandedKeyCheckTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void validExpandedOnlyKey_readsAsTheSameKey_andSigns(SignatureScheme scheme) throws Exception {
        SigningKey key = TestKeys.key(scheme);
        String pem = CraftedKeys.expandedOnly(key);

        SigningKey read = KeyPem.decodePrivate(pem, null);
        assertThat(((MLDSAPrivateKey) read.toJca()).getSeed()).as("read without a seed").isNull();
        assertThat(read.keyId()).isEqualTo(key.keyId());
        SignatureValue sig = Signer.create(read).sign(TestKeys.MESSAGE);
        assertThatCode(() -> Verifier.create(key.verifyingKey()).verify(TestKeys.MESSAGE, sig)).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @CsvSource({
            "ML_DSA_44, S1, 'ML-DSA-44 private key: s1 coefficient out of range [-2, 2]'",
            "ML_DSA_44, S2, 'ML-DSA-44 private key: s2 coefficient out of range [-2, 2]'",
            "ML_DSA_65, S1, 'ML-DSA-65 private key: s1 coefficient out of range [-4, 4]'",
            "ML_DSA_65, S2, 'ML-DSA-65 private key: s2 coefficient out of range [-4, 4]'",
            "ML_DSA_87, S1, 'ML-DSA-87 private key: s1 coefficient out of range [-2, 2]'",
            "ML_DSA_87, S2, 'ML-DSA-87 private key: s2 coefficient out of range [-2, 2]'"})
    void expandedOnlyKey_coefficientOutOfRange_isRefusedNamingTheVectorAndTheRange(
            SignatureScheme scheme, SecretVector vector, String message) throws Exception {
        Path file = dir.resolve("spoiled.key");
        Files.writeString(file, CraftedKeys.expandedOnlyWithCoefficientOutOfRange(TestKeys.key(scheme), vector));

        assertThatThrownBy(() -> KeyPem.readSigningKey(file, null))
                .isInstanceOf(KeyFormatException.class)
                .hasMessage(file + ": " + message);
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void expandedOnlyKey_withAnotherKeysTr_isRefused(SignatureScheme scheme) {
        // Bouncy Castle 1.87 checks this itself when it reads the key; pqfl's check does not rely on that.
        byte[] expanded = CraftedKeys.expanded(TestKeys.key(scheme));
        byte[] otherPublicKey = TestKeys.otherKey(scheme).verifyingKey().raw();

        assertThatThrownBy(() -> MlDsaExpandedKeyCheck.check(scheme, expanded, otherPublicKey))
                .isInstanceOf(KeyFormatException.class)
                .hasMessage(scheme + " private key: tr is not SHAKE256 of the key's public key");
        assertThatCode(() -> MlDsaExpandedKeyCheck.check(scheme, expanded, TestKeys.key(scheme).verifyingKey().raw()))
                .doesNotThrowAnyException();
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void expandedOnlyKey_flippedTrBit_isRefusedWhenRead(SignatureScheme scheme) {
        // tr starts 64 bytes into the expanded key, after rho and K.
        String spoiled = CraftedKeys.expandedOnly(scheme, TestKeys.flip(CraftedKeys.expanded(TestKeys.key(scheme)), 64));

        assertThatThrownBy(() -> KeyPem.decodePrivate(spoiled, null))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining(scheme + " private key")
                .hasMessageNotContaining("org.bouncycastle").hasMessageNotContaining("Exception");
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void expandedKey_ofTheWrongLength_isRefused(SignatureScheme scheme) {
        byte[] expanded = CraftedKeys.expanded(TestKeys.key(scheme));
        byte[] publicKey = TestKeys.key(scheme).verifyingKey().raw();
        assertThatThrownBy(() -> MlDsaExpandedKeyCheck.check(scheme, Arrays.copyOf(expanded, expanded.length - 1), publicKey))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining("expanded key has " + (expanded.length - 1) + " bytes, expected " + expanded.length);
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void keyWithItsSeed_isNotChecked_andReadsAsBefore(SignatureScheme scheme) throws Exception {
        SigningKey key = TestKeys.key(scheme);
        assertThat(((MLDSAPrivateKey) key.toJca()).getSeed()).as("Bouncy Castle's default keeps the seed").isNotNull();
        assertThat(KeyPem.decodePrivate(KeyPem.encodePrivate(key, null), null).keyId()).isEqualTo(key.keyId());
    }
}
