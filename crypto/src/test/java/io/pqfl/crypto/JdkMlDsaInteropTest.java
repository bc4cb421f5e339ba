package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pqfl.crypto.testing.CraftedKeys;
import io.pqfl.crypto.testing.TestKeys;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * pqfl's ML-DSA signatures verify with the JDK's own ML-DSA (JDK 24+, JEP 497) and the other way round:
 * pure ML-DSA, empty context, standard X.509 public keys. Skipped, with the reason, on older JDKs.
 */
class JdkMlDsaInteropTest {
    @BeforeEach
    void requireJdkMlDsa() {
        assumeTrue(Runtime.version().feature() >= 24,
                "the JDK's own ML-DSA provider exists from JDK 24 on; this JVM is " + Runtime.version());
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void pqflSignature_verifiesWithJdk(SignatureScheme scheme) throws Exception {
        SigningKey key = TestKeys.key(scheme);
        SignatureValue sig = Signer.create(key).sign(TestKeys.MESSAGE);

        PublicKey jdkKey = KeyFactory.getInstance("ML-DSA").generatePublic(new X509EncodedKeySpec(key.verifyingKey().encoded()));
        Signature jdk = Signature.getInstance("ML-DSA");
        assertThat(jdk.getProvider().getName()).doesNotContain("BC");
        jdk.initVerify(jdkKey);
        jdk.update(TestKeys.MESSAGE);
        assertThat(jdk.verify(sig.bytes())).isTrue();

        jdk.initVerify(jdkKey);
        jdk.update(TestKeys.flip(TestKeys.MESSAGE, 0));
        assertThat(jdk.verify(sig.bytes())).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void jdkSignature_verifiesWithPqfl(SignatureScheme scheme) throws Exception {
        KeyPair pair = KeyPairGenerator.getInstance(scheme.displayName()).generateKeyPair();
        Signature jdk = Signature.getInstance("ML-DSA");
        jdk.initSign(pair.getPrivate());
        jdk.update(TestKeys.MESSAGE);
        byte[] sig = jdk.sign();

        VerifyingKey key = VerifyingKey.fromJca(pair.getPublic());
        assertThat(key.scheme()).isEqualTo(scheme);
        assertThatCode(() -> Verifier.create(key).verify(TestKeys.MESSAGE, SignatureValue.of(scheme, sig)))
                .doesNotThrowAnyException();
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
    void jdkPrivateKey_expandedOnly_readsAsTheJdksKeyPair(SignatureScheme scheme) throws Exception {
        KeyPair pair = KeyPairGenerator.getInstance(scheme.displayName()).generateKeyPair();
        String pem = CraftedKeys.pem("PRIVATE KEY", pair.getPrivate().getEncoded());

        SigningKey read = KeyPem.decodePrivate(pem, null);
        assertThat(read.verifyingKey()).isEqualTo(VerifyingKey.fromJca(pair.getPublic()));
        SignatureValue sig = Signer.create(read).sign(TestKeys.MESSAGE);
        Signature jdk = Signature.getInstance("ML-DSA");
        jdk.initVerify(pair.getPublic());
        jdk.update(TestKeys.MESSAGE);
        assertThat(jdk.verify(sig.bytes())).isTrue();
    }
}
