package io.pqfl.crypto.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.internal.BcAlgorithms;
import io.pqfl.crypto.pki.CertificateRejectedException.Reason;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.SignatureException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path dir;

    private CertificateAuthority ca;
    private CertificateChecker checker;
    private final SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);

    @BeforeEach
    void createCa() throws Exception {
        ca = CertificateAuthority.init(dir.resolve("ca"), "test CA", SignatureScheme.ML_DSA_65, Duration.ofDays(30), null,
                Clock.systemUTC());
        checker = CertificateChecker.load(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl"), Clock.systemUTC());
    }

    private X509Certificate client(String name, VerifyingKey key) throws Exception {
        return ca.issue(Role.CLIENT, name, key, List.of(), List.of(), Duration.ofDays(7));
    }

    @Test
    void caCertificate_isSelfSignedMlDsa_andReopens() throws Exception {
        X509Certificate cert = ca.certificate();
        assertThat(cert.getSigAlgName()).isEqualToIgnoringCase("ML-DSA-65");
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=test CA,O=pqfl");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        // A CA that may sign end-entity certificates only (path length 0), and only certificates and CRLs.
        assertThat(cert.getBasicConstraints()).isZero();
        assertThat(keyUsages(cert)).containsExactlyInAnyOrder("keyCertSign", "cRLSign");
        assertThat(cert.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
        cert.verify(cert.getPublicKey(), BcAlgorithms.bouncyCastle());
        CertificateAuthority reopened = CertificateAuthority.open(dir.resolve("ca"), null, Clock.systemUTC());
        assertThat(reopened.certificate()).isEqualTo(cert);
        assertThat(Files.readString(dir.resolve("ca/ca.crl"))).startsWith("-----BEGIN X509 CRL-----");
    }

    @Test
    void init_refusesOtherSchemes_andExistingCa() {
        assertThatThrownBy(() -> CertificateAuthority.init(dir.resolve("f"), "x", SignatureScheme.FALCON_512,
                Duration.ofDays(1), null, Clock.systemUTC())).isInstanceOf(PkiException.class).hasMessageContaining("ML-DSA");
        assertThatThrownBy(() -> CertificateAuthority.init(dir.resolve("ca"), "again", SignatureScheme.ML_DSA_65,
                Duration.ofDays(1), null, Clock.systemUTC())).isInstanceOf(PkiException.class).hasMessageContaining("already exists");
    }

    @Test
    void clientCertificate_checks_andItsKeyIsTheSigningKey() throws Exception {
        X509Certificate cert = client("alice", alice.verifyingKey());
        VerifyingKey key = checker.check(cert, Role.CLIENT, "alice");
        assertThat(key).isEqualTo(alice.verifyingKey());
        assertThat(Certificates.commonName(cert)).isEqualTo("alice");
        // A non-ML-DSA client key is fine for identity (the CA still signs with ML-DSA).
        SigningKey falcon = Keys.generate(SignatureScheme.FALCON_512);
        assertThat(checker.check(client("bob", falcon.verifyingKey()), Role.CLIENT, "bob")).isEqualTo(falcon.verifyingKey());
        // PEM round trip through a file.
        Certificates.writeNew(dir.resolve("alice.crt"), cert);
        assertThat(Certificates.read(dir.resolve("alice.crt"))).isEqualTo(cert);
        assertThat(Certificates.parse(cert.getEncoded())).isEqualTo(cert);
    }

    @Test
    void wrongName_wrongRole_otherCa_tampered_areInvalid() throws Exception {
        X509Certificate cert = client("alice", alice.verifyingKey());
        assertRejected(() -> checker.check(cert, Role.CLIENT, "mallory"), Reason.INVALID, "names 'alice'");
        assertRejected(() -> checker.check(cert, Role.COORDINATOR, null), Reason.INVALID, "not a coordinator certificate");

        CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), "test CA", SignatureScheme.ML_DSA_65,
                Duration.ofDays(30), null, Clock.systemUTC());
        X509Certificate foreign = other.issue(Role.CLIENT, "alice", alice.verifyingKey(), List.of(), List.of(), Duration.ofDays(1));
        // Same subject name as our CA, but a different key: only the signature check can tell.
        assertThat(foreign.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
        assertRejected(() -> checker.check(foreign, Role.CLIENT, "alice"), Reason.INVALID, "does not chain to the federation CA");

        byte[] der = cert.getEncoded();
        der[der.length - 10] ^= 1; // inside the CA's signature
        X509Certificate tampered = Certificates.parse(der);
        assertRejected(() -> checker.check(tampered, Role.CLIENT, "alice"), Reason.INVALID, "does not chain");
        assertRejected(() -> Certificates.parse(new byte[] {1, 2, 3}), Reason.INVALID, "not a DER X.509 certificate");
    }

    @Test
    void expired_isRefused() throws Exception {
        X509Certificate cert = client("alice", alice.verifyingKey());
        CertificateChecker later = CertificateChecker.load(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl"),
                Clock.fixed(Instant.now().plus(Duration.ofDays(8)), ZoneOffset.UTC));
        assertRejected(() -> later.check(cert, Role.CLIENT, "alice"), Reason.EXPIRED, "not now");
    }

    @Test
    void revocation_reachesARunningChecker_throughTheCrlFile() throws Exception {
        X509Certificate cert = client("alice", alice.verifyingKey());
        X509Certificate bob = client("bob", Keys.generate(SignatureScheme.ML_DSA_44).verifyingKey());
        checker.check(cert, Role.CLIENT, "alice");
        ca.revoke(cert.getSerialNumber(), "lost laptop");
        assertRejected(() -> checker.check(cert, Role.CLIENT, "alice"), Reason.REVOKED, "was revoked");
        assertThat(checker.check(bob, Role.CLIENT, "bob")).isEqualTo(Certificates.subjectKey(bob));
        assertThat(ca.find(cert.getSerialNumber()).orElseThrow().revoked()).isTrue();
        assertThat(ca.find(cert.getSerialNumber()).orElseThrow().reason()).isEqualTo("lost laptop");
        assertThatThrownBy(() -> ca.revoke(BigInteger.TEN, "x")).isInstanceOf(PkiException.class)
                .hasMessageContaining("no certificate with serial a");
    }

    @Test
    void aCrlFromAnotherCa_isRefused_andThePreviousStaysInForce() throws Exception {
        X509Certificate cert = client("alice", alice.verifyingKey());
        ca.revoke(cert.getSerialNumber(), "test");
        assertThat(checker.isRevoked(cert)).isTrue();
        CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), "test CA", SignatureScheme.ML_DSA_65,
                Duration.ofDays(30), null, Clock.systemUTC());
        Files.copy(dir.resolve("other/ca.crl"), dir.resolve("ca/ca.crl"), StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(dir.resolve("ca/ca.crl"), FileTime.from(Instant.now().plusSeconds(5)));
        assertThat(checker.isRevoked(cert)).as("forged empty CRL must not un-revoke").isTrue();
        assertThatThrownBy(() -> CertificateChecker.load(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl"), Clock.systemUTC()))
                .isInstanceOf(PkiException.class).hasMessageContaining("does not verify under the federation CA key");
        // The forged CRL names our CA as its issuer: only its signature gives it away.
        assertThat(Certificates.readCrl(dir.resolve("other/ca.crl")).getIssuerX500Principal())
                .isEqualTo(ca.certificate().getSubjectX500Principal());
        assertThat(other.certificate().getPublicKey()).isNotEqualTo(ca.certificate().getPublicKey());
    }

    @Test
    void coordinatorCertificate_needsANameForTls() throws Exception {
        assertThatThrownBy(() -> ca.issue(Role.COORDINATOR, "coord", alice.verifyingKey(), List.of(), List.of(),
                Duration.ofDays(1))).isInstanceOf(PkiException.class).hasMessageContaining("--dns");
        X509Certificate cert = ca.issue(Role.COORDINATOR, "coord", alice.verifyingKey(), List.of("localhost"),
                List.of("127.0.0.1"), Duration.ofDays(1));
        assertThat(cert.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
                List.of(GeneralName.dNSName, "localhost"), List.of(GeneralName.iPAddress, "127.0.0.1"));
        assertThat(cert.getExtendedKeyUsage()).containsExactly(KeyPurposeId.id_kp_serverAuth.getId());
        assertThat(checker.check(cert, Role.COORDINATOR, null)).isEqualTo(alice.verifyingKey());
        assertRejected(() -> checker.check(cert, Role.CLIENT, "coord"), Reason.INVALID, "not a client certificate");
    }

    @Test
    void issuedCertificate_containsExactlyWhatWasAsked_andTheCaSignatureVerifies() throws Exception {
        Instant now = Instant.parse("2026-06-01T12:00:00Z");
        CertificateAuthority fixed = CertificateAuthority.init(dir.resolve("fixed"), "fed CA", SignatureScheme.ML_DSA_65,
                Duration.ofDays(30), null, Clock.fixed(now, ZoneOffset.UTC));
        X509Certificate cert = fixed.issue(Role.CLIENT, "alice", alice.verifyingKey(), List.of(), List.of(), Duration.ofDays(7));

        assertThat(cert.getVersion()).isEqualTo(3);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=alice,O=pqfl");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(fixed.certificate().getSubjectX500Principal());
        assertThat(cert.getIssuerX500Principal().getName()).isEqualTo("CN=fed CA,O=pqfl");
        assertThat(Certificates.subjectKey(cert)).isEqualTo(alice.verifyingKey());
        assertThat(cert.getSerialNumber().bitLength()).isEqualTo(127);
        assertThat(fixed.find(cert.getSerialNumber()).orElseThrow().name()).isEqualTo("alice");
        // An end entity whose key signs (updates, TLS handshakes), for client authentication only; no names for TLS.
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        assertThat(keyUsages(cert)).containsExactly("digitalSignature");
        assertThat(cert.getExtendedKeyUsage()).containsExactly(KeyPurposeId.id_kp_clientAuth.getId());
        assertThat(cert.getSubjectAlternativeNames()).isNull();
        // Valid from a minute before it was issued (clock skew) for the seven days asked.
        assertThat(cert.getNotBefore().toInstant()).isEqualTo(now.minusSeconds(60));
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(now.plus(Duration.ofDays(7)));
        // Signed by the CA's ML-DSA key, and by nothing else.
        assertThat(cert.getSigAlgName()).isEqualToIgnoringCase("ML-DSA-65");
        cert.verify(fixed.certificate().getPublicKey(), BcAlgorithms.bouncyCastle());
        assertThatThrownBy(() -> cert.verify(ca.certificate().getPublicKey(), BcAlgorithms.bouncyCastle()))
                .isInstanceOf(SignatureException.class);

        // Never valid beyond the CA itself.
        X509Certificate longer = fixed.issue(Role.CLIENT, "bob", alice.verifyingKey(), List.of(), List.of(), Duration.ofDays(365));
        assertThat(longer.getNotAfter()).isEqualTo(fixed.certificate().getNotAfter());
    }

    /** The key usages a certificate asserts, by their RFC 5280 names. */
    private static List<String> keyUsages(X509Certificate cert) {
        String[] names = {"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
            "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"};
        boolean[] bits = cert.getKeyUsage();
        List<String> usages = new ArrayList<>();
        for (int i = 0; bits != null && i < bits.length && i < names.length; i++) {
            if (bits[i]) {
                usages.add(names[i]);
            }
        }
        return usages;
    }

    private static void assertRejected(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Reason reason, String text) {
        assertThatThrownBy(call).isInstanceOfSatisfying(CertificateRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(reason)).hasMessageContaining(text);
    }
}
