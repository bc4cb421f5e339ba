package io.pqfl.crypto;

import static io.pqfl.crypto.testing.CraftedKeys.encryptedPem;
import static io.pqfl.crypto.testing.CraftedKeys.pbes2;
import static io.pqfl.crypto.testing.CraftedKeys.pbkdf2;
import static io.pqfl.crypto.testing.CraftedKeys.scrypt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_aes128_CBC;
import static org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_aes192_CBC;
import static org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_aes256_CBC;

import io.pqfl.crypto.testing.CraftedKeys;
import io.pqfl.crypto.testing.TestKeys;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.openssl.PKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An encrypted private key declares its own key-derivation cost. pqfl checks it before deriving anything, so a
 * hostile file is refused at once, as a format error, whatever the password; the keys pqfl and OpenSSL write
 * still read.
 */
class KeyEncryptionBoundsTest {
    private static final char[] PASSWORD = "correct horse".toCharArray();

    @TempDir
    Path dir;

    static Stream<Arguments> hostileEncryption() {
        return Stream.of(
                Arguments.of("2^31 - 1 PBKDF2 iterations", pbes2(pbkdf2(Integer.MAX_VALUE), id_aes256_CBC),
                        "PBKDF2 iteration count 2,147,483,647 is out of range; pqfl accepts 1,000 to 10,000,000"),
                Arguments.of("2^40 PBKDF2 iterations (beyond an int)",
                        pbes2(pbkdf2(BigInteger.ONE.shiftLeft(40), null, PKCSObjectIdentifiers.id_hmacWithSHA256), id_aes256_CBC),
                        "PBKDF2 iteration count 1,099,511,627,776 is out of range"),
                Arguments.of("one more PBKDF2 iteration than the bound", pbes2(pbkdf2(10_000_001), id_aes256_CBC),
                        "PBKDF2 iteration count 10,000,001 is out of range"),
                Arguments.of("too few PBKDF2 iterations to protect anything", pbes2(pbkdf2(999), id_aes256_CBC),
                        "PBKDF2 iteration count 999 is out of range; pqfl accepts 1,000 to 10,000,000"),
                Arguments.of("a 2 GiB PBKDF2 key length", pbes2(pbkdf2(BigInteger.valueOf(600_000),
                        BigInteger.ONE.shiftLeft(31), PKCSObjectIdentifiers.id_hmacWithSHA256), id_aes256_CBC),
                        "PBKDF2 key length 2,147,483,648 bytes does not match AES-256-CBC's 32-byte key"),
                Arguments.of("an unsupported PBKDF2 PRF", pbes2(pbkdf2(BigInteger.valueOf(600_000), null,
                        PKCSObjectIdentifiers.md5), id_aes256_CBC),
                        "PBKDF2 pseudo-random function 1.2.840.113549.2.5 is not supported"),
                Arguments.of("scrypt N = 2^30", pbes2(scrypt(1L << 30, 8, 1), id_aes256_CBC),
                        "scrypt cost N 1,073,741,824 is out of range; pqfl accepts 2 to 1,048,576"),
                Arguments.of("scrypt N not a power of two", pbes2(scrypt(1000, 8, 1), id_aes256_CBC),
                        "scrypt cost N 1,000 is not a power of two"),
                Arguments.of("scrypt r = 1024", pbes2(scrypt(1 << 14, 1024, 1), id_aes256_CBC),
                        "scrypt block size r 1,024 is out of range; pqfl accepts 1 to 32"),
                Arguments.of("scrypt p = 2^20", pbes2(scrypt(1 << 14, 8, 1 << 20), id_aes256_CBC),
                        "scrypt parallelisation p 1,048,576 is out of range; pqfl accepts 1 to 16"),
                Arguments.of("scrypt needing 2 GiB", pbes2(scrypt(1 << 20, 16, 1), id_aes256_CBC),
                        "scrypt would need N * r * 128 = 2,147,483,648 bytes of memory; pqfl allows at most 1,073,741,824 (1 GiB)"),
                Arguments.of("a cipher pqfl does not read", pbes2(pbkdf2(600_000), PKCSObjectIdentifiers.des_EDE3_CBC),
                        "cipher 1.2.840.113549.3.7 is not supported; pqfl reads AES-128-CBC, AES-192-CBC and AES-256-CBC"),
                Arguments.of("PKCS#12 PBE instead of PBES2", new AlgorithmIdentifier(
                        PKCSObjectIdentifiers.pbeWithSHAAnd3_KeyTripleDES_CBC, DERNull.INSTANCE),
                        "encrypted with algorithm 1.2.840.113549.1.12.1.3, not PBES2"),
                Arguments.of("PBES2 parameters that do not decode", new AlgorithmIdentifier(
                        PKCSObjectIdentifiers.id_PBES2, DERNull.INSTANCE),
                        "its PBES2 parameters do not decode"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileEncryption")
    void decodePrivate_encryptionOutsideTheBounds_isRefusedBeforeAnyKeyDerivation(
            String what, AlgorithmIdentifier encryption, String message) {
        assertThatThrownBy(() -> KeyPem.decodePrivate(encryptedPem(encryption), PASSWORD))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageStartingWith("encrypted private key: ")
                .hasMessageContaining(message);
    }

    @Test
    void readSigningKey_excessiveIterations_namesTheFileAndTheBound_evenWithoutAPassword() throws Exception {
        Path file = dir.resolve("hostile.key");
        Files.writeString(file, encryptedPem(pbes2(pbkdf2(Integer.MAX_VALUE), id_aes256_CBC)));
        for (char[] password : new char[][] {PASSWORD, null}) {
            assertThatThrownBy(() -> KeyPem.readSigningKey(file, password))
                    .isInstanceOf(KeyFormatException.class)
                    .hasMessage(file + ": encrypted private key: PBKDF2 iteration count 2,147,483,647 is out of range;"
                            + " pqfl accepts 1,000 to 10,000,000");
        }
    }

    static Stream<Arguments> acceptedPbkdf2() {
        return Stream.of(
                Arguments.of(id_aes128_CBC, PKCS8Generator.PRF_HMACSHA1, 1_000),
                Arguments.of(id_aes192_CBC, PKCS8Generator.PRF_HMACSHA384, 2_048),
                Arguments.of(id_aes256_CBC, PKCS8Generator.PRF_HMACSHA512, 1_000),
                Arguments.of(id_aes256_CBC, PKCS8Generator.PRF_HMACSHA256, 1_000));
    }

    @ParameterizedTest
    @MethodSource("acceptedPbkdf2")
    void decodePrivate_everyAcceptedPbkdf2PrfAndCipher_reads(
            ASN1ObjectIdentifier cipher, AlgorithmIdentifier prf, int iterations) throws Exception {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        String pem = CraftedKeys.pbkdf2Encrypted(key, PASSWORD, cipher, prf, iterations);
        assertThat(KeyPem.decodePrivate(pem, PASSWORD).keyId()).isEqualTo(key.keyId());
    }

    @Test
    void decodePrivate_scryptWithinTheBounds_reads() throws Exception {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        String pem = CraftedKeys.scryptEncrypted(key, PASSWORD, 1 << 10, 8, 1);
        assertThat(KeyPem.decodePrivate(pem, PASSWORD).keyId()).isEqualTo(key.keyId());
        assertThatThrownBy(() -> KeyPem.decodePrivate(pem, "wrong".toCharArray())).isInstanceOf(WrongPasswordException.class);
    }
}
