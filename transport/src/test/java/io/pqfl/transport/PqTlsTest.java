package io.pqfl.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.StatusRequest;
import io.pqfl.proto.v1.StatusResponse;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.cert.CertPathValidatorException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsException;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS 1.3 over real loopback sockets: the hybrid group is negotiated (read from the TLS session on both
 * ends), classical TLS works when configured, a pq-only server refuses a classical client, and mutual TLS
 * refuses clients without a valid certificate.
 */
class PqTlsTest {
    @TempDir
    static Path dir;

    static CertificateAuthority ca;
    static CertificateChecker checker;
    static SigningKey coordinatorKey = Keys.generate(SignatureScheme.ML_DSA_65);
    static X509Certificate coordinatorCert;
    static SigningKey aliceKey = Keys.generate(SignatureScheme.ML_DSA_44);
    static X509Certificate aliceCert;

    private Server server;
    private ManagedChannel channel;
    private final AtomicReference<SSLSession> serverSession = new AtomicReference<>();
    private final AtomicReference<SSLSession> clientSession = new AtomicReference<>();

    @BeforeAll
    static void pki() throws Exception {
        ca = CertificateAuthority.init(dir.resolve("ca"), "tls test CA", SignatureScheme.ML_DSA_65, Duration.ofDays(2), null,
                Clock.systemUTC());
        checker = CertificateChecker.load(dir.resolve("ca/ca.crt"), dir.resolve("ca/ca.crl"), Clock.systemUTC());
        coordinatorCert = ca.issue(Role.COORDINATOR, "coordinator", coordinatorKey.verifyingKey(), List.of("localhost"),
                List.of("127.0.0.1"), Duration.ofDays(1));
        aliceCert = ca.issue(Role.CLIENT, "alice", aliceKey.verifyingKey(), List.of(), List.of(), Duration.ofDays(1));
    }

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A minimal service: the test is about the transport, not the federation logic. */
    private static final class StatusOnly extends FederationGrpc.FederationImplBase {
        @Override
        public void getStatus(StatusRequest request, StreamObserver<StatusResponse> out) {
            out.onNext(StatusResponse.newBuilder().setFederationId("tls-test").build());
            out.onCompleted();
        }
    }

    private int start(KeyExchange groups, ClientAuth clientAuth) throws Exception {
        SslContext ctx = PqTls.server(List.of(coordinatorCert), coordinatorKey.toJca(), groups,
                clientAuth == ClientAuth.NONE ? null : checker.trustManager(Role.CLIENT), clientAuth);
        ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                serverSession.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return next.startCall(call, headers);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(ctx)
                .addService(ServerInterceptors.intercept(new StatusOnly(), capture)).build().start();
        return server.getPort();
    }

    private StatusResponse call(int port, KeyExchange groups, X509Certificate cert, SigningKey key) {
        SslContext ctx = PqTls.client(List.of(ca.certificate()), cert == null ? null : List.of(cert),
                key == null ? null : key.toJca(), groups);
        ClientInterceptor capture = new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<R> listener, Metadata headers) {
                        ClientCall<Q, R> self = this;
                        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                            @Override
                            public void onHeaders(Metadata h) {
                                clientSession.set(self.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                                super.onHeaders(h);
                            }
                        }, headers);
                    }
                };
            }
        };
        channel = NettyChannelBuilder.forAddress("localhost", port).sslContext(ctx).intercept(capture).build();
        return FederationGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .getStatus(StatusRequest.getDefaultInstance());
    }

    /** Every exception in {@code t}'s cause chain, {@code t} first. */
    private static List<Throwable> causes(Throwable t) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable c = t; c != null && !chain.contains(c); c = c.getCause()) {
            chain.add(c);
        }
        return chain;
    }

    /**
     * The call failed because the TLS handshake was refused with {@code alert}: status UNAVAILABLE caused by an
     * {@link SSLException} over the TLS alert (sent by this end when {@code local}, else received from the peer).
     * A closed port, a server that answered, or a handshake that failed for another reason does not pass.
     */
    private static void assertRefusedInTheHandshake(ThrowingCallable call, short alert, boolean local) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.UNAVAILABLE);
            List<Throwable> chain = causes(e);
            assertThat(chain).as("cause chain").anyMatch(c -> c instanceof SSLException);
            Class<? extends TlsException> kind = local ? TlsFatalAlert.class : TlsFatalAlertReceived.class;
            assertThat(chain).as("cause chain").filteredOn(kind::isInstance).singleElement().satisfies(a ->
                    assertThat(alertOf((TlsException) a)).as(a.toString()).isEqualTo(AlertDescription.getText(alert)));
        });
    }

    private static String alertOf(TlsException e) {
        short alert = e instanceof TlsFatalAlert f ? f.getAlertDescription() : ((TlsFatalAlertReceived) e).getAlertDescription();
        return AlertDescription.getText(alert);
    }

    @Test
    void aClosedPort_isNotMistakenForAHandshakeRefusal() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        assertThatThrownBy(() -> assertRefusedInTheHandshake(() -> call(closed, KeyExchange.HYBRID, null, null),
                AlertDescription.handshake_failure, false)).isInstanceOf(AssertionError.class);
    }

    @Test
    void hybridGroup_isNegotiated_andReadFromTheSessionOnBothEnds() throws Exception {
        int port = start(KeyExchange.HYBRID, ClientAuth.NONE);
        assertThat(call(port, KeyExchange.HYBRID, null, null).getFederationId()).isEqualTo("tls-test");
        assertThat(serverSession.get().getProtocol()).isEqualTo("TLSv1.3");
        assertThat(PqTls.negotiatedGroup(serverSession.get())).contains("X25519MLKEM768");
        assertThat(PqTls.negotiatedGroup(clientSession.get())).contains("X25519MLKEM768");
        // The coordinator proved itself with its ML-DSA-65 certificate.
        assertThat(clientSession.get().getPeerCertificates()[0]).isEqualTo(coordinatorCert);
    }

    @Test
    void classicalTls_stillWorks_whenConfigured() throws Exception {
        int port = start(KeyExchange.HYBRID, ClientAuth.NONE);
        call(port, KeyExchange.CLASSICAL, null, null);
        assertThat(PqTls.negotiatedGroup(serverSession.get())).contains("x25519");
    }

    @Test
    void pqOnlyServer_refusesAClassicalClient_butServesAHybridOne() throws Exception {
        int port = start(KeyExchange.PQ_ONLY, ClientAuth.NONE);
        // No group in common: the server ends the handshake.
        assertRefusedInTheHandshake(() -> call(port, KeyExchange.CLASSICAL, null, null), AlertDescription.handshake_failure, false);
        channel.shutdownNow();
        call(port, KeyExchange.HYBRID, null, null);
        assertThat(PqTls.negotiatedGroup(serverSession.get())).contains("X25519MLKEM768");
    }

    @Test
    void rawBcjsseSocket_withoutTheHybridGroup_failsTheHandshake_withItSucceeds() throws Exception {
        int port = start(KeyExchange.PQ_ONLY, ClientAuth.NONE);
        var anchors = PqTls.sslContext(null, new TrustManager[] {checker.trustManager(Role.COORDINATOR)},
                KeyExchange.CLASSICAL);
        try (SSLSocket s = (SSLSocket) anchors.getSocketFactory().createSocket("127.0.0.1", port)) {
            assertThatThrownBy(s::startHandshake).isInstanceOfSatisfying(TlsFatalAlertReceived.class,
                    a -> assertThat(a.getAlertDescription()).isEqualTo(AlertDescription.handshake_failure));
        }
        var hybrid = PqTls.sslContext(null, new TrustManager[] {checker.trustManager(Role.COORDINATOR)},
                KeyExchange.HYBRID);
        try (SSLSocket s = (SSLSocket) hybrid.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
            assertThat(PqTls.negotiatedGroup(((BCSSLSocket) s).getConnection())).contains("X25519MLKEM768");
        }
    }

    @Test
    void aClientWithTheCrl_refusesARevokedCoordinatorCertificate() throws Exception {
        SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
        X509Certificate revoked = ca.issue(Role.COORDINATOR, "old-coordinator", key.verifyingKey(), List.of("localhost"),
                List.of("127.0.0.1"), Duration.ofDays(1));
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(PqTls.server(List.of(revoked), key.toJca(), KeyExchange.HYBRID, null, ClientAuth.NONE))
                .addService(new StatusOnly()).build().start();
        int port = server.getPort();
        X509CRL before = Certificates.readCrl(dir.resolve("ca/ca.crl"));
        assertThat(callWith(port, PqTls.client(List.of(ca.certificate()), before, null, null, KeyExchange.HYBRID))
                .getFederationId()).isEqualTo("tls-test");
        X509CRL after = ca.revoke(revoked.getSerialNumber(), "key compromise");
        SslContext withCrl = PqTls.client(List.of(ca.certificate()), after, null, null, KeyExchange.HYBRID);
        // The client itself refuses the coordinator's certificate, because the CRL revokes it.
        assertRefusedInTheHandshake(() -> callWith(port, withCrl), AlertDescription.certificate_unknown, true);
        assertThatThrownBy(() -> callWith(port, withCrl)).satisfies(e -> assertThat(causes(e))
                .anyMatch(c -> c instanceof CertPathValidatorException && c.getMessage().contains("revocation")));
        // Without the CRL the client cannot know.
        assertThat(callWith(port, PqTls.client(List.of(ca.certificate()), null, null, KeyExchange.HYBRID)).getFederationId())
                .isEqualTo("tls-test");
    }

    private StatusResponse callWith(int port, SslContext ctx) {
        if (channel != null) {
            channel.shutdownNow();
        }
        channel = NettyChannelBuilder.forAddress("localhost", port).sslContext(ctx).build();
        return FederationGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .getStatus(StatusRequest.getDefaultInstance());
    }

    @Test
    void mutualTls_acceptsAValidClientCertificate_andShowsIt() throws Exception {
        int port = start(KeyExchange.HYBRID, ClientAuth.REQUIRE);
        call(port, KeyExchange.HYBRID, aliceCert, aliceKey);
        assertThat(serverSession.get().getPeerCertificates()[0]).isEqualTo(aliceCert);
    }

    @Test
    void mutualTls_refusesNoCertificate_aForeignOne_andARevokedOne() throws Exception {
        int port = start(KeyExchange.HYBRID, ClientAuth.REQUIRE);
        // TLS 1.3: the server asks for a certificate and refuses the handshake without one.
        assertRefusedInTheHandshake(() -> call(port, KeyExchange.HYBRID, null, null), AlertDescription.certificate_required, false);
        channel.shutdownNow();

        CertificateAuthority other = CertificateAuthority.init(dir.resolve("other-" + System.nanoTime()), "tls test CA",
                SignatureScheme.ML_DSA_65, Duration.ofDays(1), null, Clock.systemUTC());
        X509Certificate foreign = other.issue(Role.CLIENT, "alice", aliceKey.verifyingKey(), List.of(), List.of(),
                Duration.ofDays(1));
        assertRefusedInTheHandshake(() -> call(port, KeyExchange.HYBRID, foreign, aliceKey), AlertDescription.certificate_unknown,
                false);
        channel.shutdownNow();

        SigningKey bobKey = Keys.generate(SignatureScheme.ML_DSA_44);
        X509Certificate bob = ca.issue(Role.CLIENT, "bob", bobKey.verifyingKey(), List.of(), List.of(), Duration.ofDays(1));
        call(port, KeyExchange.HYBRID, bob, bobKey);
        channel.shutdownNow();
        ca.revoke(bob.getSerialNumber(), "test");
        assertRefusedInTheHandshake(() -> call(port, KeyExchange.HYBRID, bob, bobKey), AlertDescription.certificate_unknown, false);
    }
}
