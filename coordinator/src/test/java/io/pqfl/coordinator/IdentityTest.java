package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.EnrollmentTokens;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identities over the real wire: clients admitted by federation certificates (in Hello or through mutual
 * TLS), refused with a clear status when the certificate is foreign, for another name or revoked, and
 * clients enrolled with a one-time token and proof of possession.
 */
class IdentityTest {
    @TempDir
    Path dir;

    /** Where the coordinator keeps the certificates of the clients it admitted. */
    private Path certified() {
        return DataDirectory.of(dir.resolve("data")).certified();
    }

    CertificateAuthority ca;
    X509Certificate coordinatorCert;
    SigningKey coordinatorTlsKey = Keys.generate(SignatureScheme.ML_DSA_65);

    @BeforeEach
    void pki() throws Exception {
        ca = CertificateAuthority.init(dir.resolve("ca"), "identity test CA", SignatureScheme.ML_DSA_65, Duration.ofDays(2),
                null, Clock.systemUTC());
        coordinatorCert = ca.issue(Role.COORDINATOR, "coordinator", coordinatorTlsKey.verifyingKey(), List.of("localhost"),
                List.of("127.0.0.1"), Duration.ofDays(1));
    }

    private X509Certificate clientCert(String name, SigningKey key) throws Exception {
        return ca.issue(Role.CLIENT, name, key.verifyingKey(), List.of(), List.of(), Duration.ofDays(1));
    }

    private SslContext serverTls(ClientAuth auth) throws Exception {
        CertificateChecker checker = CertificateChecker.load(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl"), Clock.systemUTC());
        return PqTls.server(List.of(coordinatorCert), coordinatorTlsKey.toJca(), KeyExchange.HYBRID,
                auth == ClientAuth.NONE ? null : checker.trustManager(Role.CLIENT), auth);
    }

    private SslContext clientTls(X509Certificate cert, SigningKey key) {
        return PqTls.client(List.of(ca.certificate()), cert == null ? null : List.of(cert), key == null ? null : key.toJca(),
                KeyExchange.HYBRID);
    }

    private TestFederation federation(int trusted, ClientAuth auth) throws Exception {
        return TestFederation.start(dir, trusted, b -> b.clientCertificates(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl")),
                serverTls(auth), clientTls(null, null));
    }

    private static void assertRefused(Runnable call, Status.Code code, String reason) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).startsWith(reason);
        });
    }

    private static void assertLedgerVerifies(TestFederation fed) throws Exception {
        LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()));
        assertThat(report.ok()).as(report.problem()).isTrue();
    }

    @Test
    void certificateInHello_admitsAClientWithoutATrustEntry_andItsSignedUpdateCounts() throws Exception {
        try (TestFederation fed = federation(1, ClientAuth.NONE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            TestClient c1 = fed.client("c1");
            TestClient a = fed.client("alice", alice);
            assertRefused(a::hello, Status.Code.UNAUTHENTICATED, "UNKNOWN_CLIENT");
            c1.hello();
            a.hello(clientCert("alice", alice).getEncoded());
            c1.submit(c1.task(10_000), tiny(1), 10);
            a.submit(a.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_CERTIFIED)
                    .singleElement().satisfies(e -> assertThat(e.clientId()).isEqualTo("alice"));
            assertThat(certified().resolve("alice.crt")).exists();
            assertLedgerVerifies(fed);
        }
    }

    @Test
    void foreignMisnamedOrRevokedCertificates_areRefusedWithTheirReason_andAdmitNobody() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.NONE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), "identity test CA",
                    SignatureScheme.ML_DSA_65, Duration.ofDays(1), null, Clock.systemUTC());
            X509Certificate foreign = other.issue(Role.CLIENT, "alice", alice.verifyingKey(), List.of(), List.of(),
                    Duration.ofDays(1));
            TestClient a = fed.client("alice", alice);
            assertRefused(() -> a.hello(encoded(foreign)), Status.Code.UNAUTHENTICATED, "CERTIFICATE_INVALID");
            X509Certificate bobs = clientCert("bob", alice);
            assertRefused(() -> a.hello(encoded(bobs)), Status.Code.UNAUTHENTICATED, "CERTIFICATE_INVALID");
            assertRefused(() -> a.hello(new byte[] {0x30, 0x03, 1, 2, 3}), Status.Code.UNAUTHENTICATED, "CERTIFICATE_INVALID");
            X509Certificate revoked = clientCert("alice", alice);
            ca.revoke(revoked.getSerialNumber(), "test");
            assertRefused(() -> a.hello(encoded(revoked)), Status.Code.PERMISSION_DENIED, "CERTIFICATE_REVOKED");
            // A certificate for another key than the one the client signs with is a key mismatch.
            SigningKey other2 = Keys.generate(SignatureScheme.ML_DSA_44);
            X509Certificate forOtherKey = clientCert("alice", other2);
            assertRefused(() -> a.hello(encoded(forOtherKey)), Status.Code.UNAUTHENTICATED, "KEY_MISMATCH");
            // Nothing was admitted: a certificate counts only after a proof of possession of its key.
            assertThat(fed.coordinator.ledger().entries()).noneMatch(e -> e.kind() == LedgerEntry.Kind.CLIENT_CERTIFIED);
            assertThat(certified().resolve("alice.crt")).doesNotExist();
        }
    }

    @Test
    void admittedCertificates_surviveARestart_butAFilePlacedByHandAdmitsNobody() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.NONE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            fed.client("alice", alice).hello(clientCert("alice", alice).getEncoded());
            // A certificate from another CA dropped into the data directory.
            SigningKey mallory = Keys.generate(SignatureScheme.ML_DSA_44);
            CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), "identity test CA",
                    SignatureScheme.ML_DSA_65, Duration.ofDays(1), null, Clock.systemUTC());
            Certificates.writeNew(certified().resolve("mallory.crt"), other.issue(Role.CLIENT, "mallory",
                    mallory.verifyingKey(), List.of(), List.of(), Duration.ofDays(1)));
            fed.restart();
            fed.client("alice", alice).hello();
            assertRefused(() -> fed.client("mallory", mallory).hello(), Status.Code.UNAUTHENTICATED, "UNKNOWN_CLIENT");
        }
    }

    @Test
    void revokingAnAdmittedCertificate_shutsTheClientOut() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.NONE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            X509Certificate cert = clientCert("alice", alice);
            TestClient a = fed.client("alice", alice);
            a.hello(cert.getEncoded());
            a.hello();
            ca.revoke(cert.getSerialNumber(), "stolen");
            assertRefused(a::hello, Status.Code.PERMISSION_DENIED, "REVOKED_KEY");
            assertRefused(() -> a.hello(encoded(cert)), Status.Code.PERMISSION_DENIED, "CERTIFICATE_REVOKED");
        }
    }

    @Test
    void mutualTls_takesTheIdentityFromTheHandshake_overTheHybridGroup() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.REQUIRE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            X509Certificate cert = clientCert("alice", alice);
            ManagedChannel mtls = fed.channel(clientTls(cert, alice));
            try {
                new TestClient(mtls, "alice", alice).hello();
                assertThat(fed.metrics.registry().find("pqfl.tls.handshakes").tag("group", "X25519MLKEM768").counter())
                        .isNotNull().satisfies(c -> assertThat(c.count()).isGreaterThanOrEqualTo(1));
                assertThat(certified().resolve("alice.crt")).exists();
                // The TLS certificate names alice: nobody else can say hello over this connection.
                SigningKey bob = Keys.generate(SignatureScheme.ML_DSA_44);
                fed.enroll("bob", bob);
                assertRefused(() -> new TestClient(mtls, "bob", bob).hello(), Status.Code.UNAUTHENTICATED,
                        "CERTIFICATE_INVALID: the TLS client certificate is for 'alice'");
            } finally {
                mtls.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            // Without a client certificate the handshake itself fails.
            assertRefused(() -> fed.client("bob").hello(), Status.Code.UNAVAILABLE, "");
        }
    }

    @Test
    void mutualTls_sessionOfAnotherClient_isRefusedOnEveryCall() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.REQUIRE)) {
            SigningKey alice = Keys.generate(SignatureScheme.ML_DSA_44);
            SigningKey bob = Keys.generate(SignatureScheme.ML_DSA_44);
            ManagedChannel aliceTls = fed.channel(clientTls(clientCert("alice", alice), alice));
            ManagedChannel bobTls = fed.channel(clientTls(clientCert("bob", bob), bob));
            try {
                TestClient a = new TestClient(aliceTls, "alice", alice);
                a.hello();
                new TestClient(bobTls, "bob", bob).hello();
                // bob's connection, alice's session token: the certificate names bob, so every call is refused.
                TestClient stolen = new TestClient(bobTls, "alice", alice);
                stolen.session(a.session());
                Refusals.assertRefused(() -> stolen.task(1_000), RejectReason.SESSION_MISMATCH);
                Refusals.assertRefused(() -> stolen.submit(a.task(10_000), tiny(1), 10), RejectReason.SESSION_MISMATCH);
            } finally {
                aliceTls.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                bobTls.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void olderCertificateOfAnAdmittedClient_isRefused_evenWithItsKey() throws Exception {
        try (TestFederation fed = federation(1, ClientAuth.NONE)) {
            SigningKey retired = Keys.generate(SignatureScheme.ML_DSA_44);
            SigningKey current = Keys.generate(SignatureScheme.ML_DSA_44);
            // The same CA, issuing an hour ago and now: the certificates' notBefore differ.
            CertificateAuthority earlier = CertificateAuthority.open(dir.resolve("ca"), null,
                    Clock.offset(Clock.systemUTC(), Duration.ofHours(-1)));
            X509Certificate old = earlier.issue(Role.CLIENT, "alice", retired.verifyingKey(), List.of(), List.of(),
                    Duration.ofDays(1));
            X509Certificate rotated = clientCert("alice", current);

            fed.client("alice", retired).hello(old.getEncoded());
            fed.client("alice", current).hello(rotated.getEncoded()); // key rotation: the newer certificate replaces it
            Refusals.assertRefused(() -> fed.client("alice", retired).hello(old.getEncoded()), RejectReason.CERTIFICATE_SUPERSEDED);
            Refusals.assertRefused(() -> fed.client("alice", retired).hello(), RejectReason.KEY_MISMATCH);
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_CERTIFIED)
                    .extracting(LedgerEntry::keyId).containsExactly(retired.keyId().hex(), current.keyId().hex());
        }
    }

    @Test
    void tokenEnrollment_provesPossession_isOneTime_andIsLedgered() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.NONE)) {
            String token = fed.coordinator.tokens().create(new ClientId("dave"), Duration.ofHours(1), fed.coordinatorKey);
            assertThat(token).startsWith("pqfl-enroll-");
            SigningKey dave = Keys.generate(SignatureScheme.ML_DSA_65);
            TestClient d = fed.client("dave", dave);
            assertRefused(d::hello, Status.Code.UNAUTHENTICATED, "UNKNOWN_CLIENT");

            // A proof signed by another key does not verify, and burns neither the token nor dave's challenge.
            var c = d.beginEnrollment();
            byte[] forged = EnrollmentStatement.prove(c.getFederationId(), new ClientId("dave"), c.getChallenge().toByteArray(),
                    Keys.generate(SignatureScheme.ML_DSA_65), token);
            assertRefused(() -> d.completeEnrollment(c.getChallenge().toByteArray(), token, forged), Status.Code.UNAUTHENTICATED,
                    "ENROLLMENT_INVALID");
            // A stranger asking for challenges under dave's name, and completing with them, changes nothing for dave.
            SigningKey mallory = Keys.generate(SignatureScheme.ML_DSA_65);
            TestClient m = fed.client("dave", mallory);
            var mc = m.beginEnrollment();
            assertRefused(() -> m.completeEnrollment(mc.getChallenge().toByteArray(), "pqfl-enroll-guessed",
                    EnrollmentStatement.prove(mc.getFederationId(), new ClientId("dave"), mc.getChallenge().toByteArray(), mallory,
                            "pqfl-enroll-guessed")), Status.Code.UNAUTHENTICATED, "TOKEN_INVALID");
            // dave's challenge is not mallory's: it is bound to dave's key.
            assertRefused(() -> m.completeEnrollment(c.getChallenge().toByteArray(), token, EnrollmentStatement.prove(
                    c.getFederationId(), new ClientId("dave"), c.getChallenge().toByteArray(), mallory, token)),
                    Status.Code.UNAUTHENTICATED, "ENROLLMENT_INVALID");
            assertRefused(() -> d.enroll("pqfl-enroll-guessed"), Status.Code.UNAUTHENTICATED, "TOKEN_INVALID");

            byte[] honest = EnrollmentStatement.prove(c.getFederationId(), new ClientId("dave"), c.getChallenge().toByteArray(),
                    dave, token);
            var result = d.completeEnrollment(c.getChallenge().toByteArray(), token, honest);
            assertThat(result.getKeyId()).isEqualTo(dave.keyId().hex());
            // Replaying the completed enrollment does nothing more.
            assertRefused(() -> d.completeEnrollment(c.getChallenge().toByteArray(), token, honest), Status.Code.ALREADY_EXISTS,
                    "ALREADY_ENROLLED");
            d.hello();
            assertThat(fed.trust.find(new ClientId("dave")).orElseThrow().key()).isEqualTo(dave.verifyingKey());

            // The token is spent: another client (or the same one with a new key) cannot use it.
            SigningKey eve = Keys.generate(SignatureScheme.ML_DSA_65);
            String erin = fed.coordinator.tokens().create(new ClientId("erin"), Duration.ofHours(1), fed.coordinatorKey);
            assertRefused(() -> fed.client("dave", eve).enroll(token), Status.Code.ALREADY_EXISTS, "ALREADY_ENROLLED");
            assertRefused(() -> fed.client("eve", eve).enroll(token), Status.Code.PERMISSION_DENIED, "TOKEN_USED");
            assertRefused(() -> fed.client("eve", eve).enroll(erin), Status.Code.UNAUTHENTICATED, "TOKEN_INVALID");
            assertThat(fed.trust.find(new ClientId("eve"))).isEmpty();

            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_ENROLLED)
                    .singleElement().satisfies(e -> assertThat(e.keyId()).isEqualTo(dave.keyId().hex()));
            assertLedgerVerifies(fed);
        }
    }

    @Test
    void expiredToken_isRefused() throws Exception {
        try (TestFederation fed = federation(0, ClientAuth.NONE)) {
            String token = fed.coordinator.tokens().create(new ClientId("dave"), Duration.ofMillis(1), fed.coordinatorKey);
            Await.until(Duration.ofSeconds(5), "the token to expire", () -> fed.coordinator.tokens()
                    .check(token, new ClientId("dave")) == EnrollmentTokens.Outcome.EXPIRED);
            assertRefused(() -> fed.client("dave", Keys.generate(SignatureScheme.ML_DSA_44)).enroll(token),
                    Status.Code.PERMISSION_DENIED, "TOKEN_EXPIRED");
        }
    }

    private static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
