package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.dashboard.ClientActivity;
import io.pqfl.coordinator.dashboard.DashboardServer;
import io.pqfl.coordinator.dashboard.DashboardState;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.testing.MutableClock;
import io.pqfl.protocol.RejectReason;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard over real sockets: its JSON follows a federation (a round's accepted and rejected updates, the
 * client's last status, the ledger's tail), it answers nothing but GET and HEAD of its pages, and over HTTPS it
 * speaks TLS 1.3 with the hybrid key exchange.
 */
class DashboardTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(DashboardServer d, String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void stateFollowsTheFederation_acceptedRejectedByReasonClientsAndLedger() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-07T10:00:00Z"));
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             DashboardServer d = new DashboardServer("127.0.0.1", 0, null, new DashboardState(fed.coordinator, "plaintext", clock))) {
            JsonNode before = JSON.readTree(get(d, "GET", "/api/state").body());
            assertThat(before.at("/federation/id").asText()).isEqualTo(fed.config.federationId());
            assertThat(before.at("/updates/accepted").asLong()).isZero();

            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);
            assertThatThrownBy(() -> c1.send(c1.tampered(t1, tiny(1), 10))).isInstanceOf(StatusRuntimeException.class);

            // Within the second, the cached document is served again; a second later it is rebuilt.
            assertThat(JSON.readTree(get(d, "GET", "/api/state").body()).at("/updates/rejected").asLong()).isZero();
            clock.advance(Duration.ofSeconds(1));
            JsonNode during = JSON.readTree(get(d, "GET", "/api/state").body());
            assertThat(during.at("/round/round").asLong()).isEqualTo(1);
            assertThat(during.at("/round/rejectedSoFar").asInt()).isEqualTo(1);
            assertThat(during.at("/updates/rejectedByReason/BAD_SIGNATURE").asLong()).isEqualTo(1);
            assertThat(during.at("/clients/recent")).anySatisfy(c -> {
                assertThat(c.get("id").asText()).isEqualTo("c1");
                assertThat(c.get("event").asText()).isEqualTo("rejected");
                assertThat(c.get("reason").asText()).isEqualTo("BAD_SIGNATURE");
            });
            assertThat(during.at("/ledger/0/kind").asText()).isEqualTo("UPDATE_REJECTED");
            assertThat(during.at("/ledger/0/reason").asText()).isEqualTo("BAD_SIGNATURE");

            c1.submit(t1, tiny(1), 10);
            c2.submit(t2, tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            clock.advance(Duration.ofSeconds(1));
            JsonNode after = JSON.readTree(get(d, "GET", "/api/state").body());
            assertThat(after.at("/federation/closedRounds").asLong()).isEqualTo(1);
            assertThat(after.at("/updates/accepted").asLong()).isEqualTo(2);
            assertThat(after.at("/rounds/0/round").asLong()).isEqualTo(1);
            assertThat(after.at("/rounds/0/state").asText()).isEqualTo("COMPLETED");
            assertThat(after.at("/rounds/0/accepted").asInt()).isEqualTo(2);
            assertThat(after.at("/rounds/0/rejected").asInt()).isEqualTo(1);
            assertThat(after.at("/clients/recent")).allSatisfy(c -> assertThat(c.get("event").asText()).isEqualTo("accepted"));
            assertThat(after.at("/ledger")).anySatisfy(e -> assertThat(e.get("kind").asText()).isEqualTo("MODEL_PUBLISHED"));
        }
    }

    @Test
    void readOnly_onlyGetAndHeadOfItsPages_withAPolicyThatRunsNoInlineScript() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             DashboardServer d = new DashboardServer("127.0.0.1", 0, null,
                     new DashboardState(fed.coordinator, "plaintext", Clock.systemUTC()))) {
            HttpResponse<String> page = get(d, "GET", "/");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("<script src=\"/dashboard.js\"");
            assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(csp ->
                    assertThat(csp).contains("script-src 'self'").doesNotContain("unsafe-inline"));
            assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            assertThat(get(d, "GET", "/dashboard.js").body()).contains("textContent").doesNotContain("innerHTML");
            assertThat(get(d, "HEAD", "/api/state").statusCode()).isEqualTo(200);
            for (String method : List.of("POST", "PUT", "DELETE")) {
                HttpResponse<String> r = get(d, method, "/api/state");
                assertThat(r.statusCode()).as(method).isEqualTo(405);
                assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD");
            }
            assertThat(get(d, "GET", "/../data/pqfl.db").statusCode()).isEqualTo(404);
            assertThat(get(d, "GET", "/index.html").statusCode()).isEqualTo(404);
        }
    }

    /** A raw HTTP/1.1 request with the given Host header; the status line's code, or -1 if the server closed first. */
    private static int rawStatus(int port, String host) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(("GET /api/state HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return line == null ? -1 : Integer.parseInt(line.split(" ")[1]);
        } catch (java.net.SocketException e) {
            return -1;
        }
    }

    @Test
    void connectedClients_countsLiveEnrolledClients_andDropsARevokedOneWithinSeconds() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.minClients(3))) {
            fed.client("c1").hello();
            fed.client("c2").hello();
            assertThat(fed.engine.status().connectedClients()).isEqualTo(2);
            fed.trust.revoke(new ClientId("c2"), "test");
            // The count is at most a second old (anyone may ask for it, and it re-checks every live client's key).
            Await.until(Duration.ofSeconds(5), "the revoked client to leave the count",
                    () -> fed.engine.status().connectedClients() == 1);
            assertThat(fed.client("c1").status().getConnectedClients()).isEqualTo(1);
        }
    }

    @Test
    void dnsRebinding_aRequestForAnotherHostName_isRefused421() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             DashboardServer d = new DashboardServer("127.0.0.1", 0, null,
                     new DashboardState(fed.coordinator, "plaintext", Clock.systemUTC()), java.util.Set.of("coord.example.org"))) {
            assertThat(rawStatus(d.port(), "evil.example:" + d.port())).isEqualTo(421);
            assertThat(rawStatus(d.port(), "evil.example")).isEqualTo(421);
            assertThat(rawStatus(d.port(), "127.0.0.1:" + d.port())).isEqualTo(200);
            assertThat(rawStatus(d.port(), "LOCALHOST:" + d.port())).isEqualTo(200);
            assertThat(rawStatus(d.port(), "coord.example.org:8443")).isEqualTo(200);
        }
    }

    @Test
    void idleConnections_areCapped_soAFloodCannotSpendTheCoordinatorsDescriptors() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             DashboardServer d = new DashboardServer("127.0.0.1", 0, null,
                     new DashboardState(fed.coordinator, "plaintext", Clock.systemUTC()))) {
            List<java.net.Socket> idle = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < io.pqfl.coordinator.server.HttpEndpoints.MAX_CONNECTIONS; i++) {
                    idle.add(new java.net.Socket("127.0.0.1", d.port()));
                }
                // The server accepts the connection and closes it at once: no descriptor is kept for it.
                Await.until(Duration.ofSeconds(3), "a connection beyond the cap to be closed",
                        () -> rawStatus(d.port(), "127.0.0.1") == -1);
            } finally {
                for (java.net.Socket s : idle) {
                    s.close();
                }
            }
            Await.until(Duration.ofSeconds(10), "the dashboard to answer again once the idle connections are gone",
                    () -> rawStatus(d.port(), "127.0.0.1") == 200);
        }
    }

    @Test
    void overHttps_tls13WithTheHybridKeyExchange_andThePageIsToldItsGroup() throws Exception {
        SelfSignedTls cert = SelfSignedTls.create();
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { });
             DashboardServer d = new DashboardServer("127.0.0.1", 0,
                     PqTls.httpsServer(List.of(cert.certificate()), cert.keys().getPrivate(), KeyExchange.HYBRID),
                     new DashboardState(fed.coordinator, "TLS", Clock.systemUTC()))) {
            assertThat(d.scheme()).isEqualTo("https");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("dashboard", cert.certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            var ctx = PqTls.sslContext(null, tmf.getTrustManagers(), KeyExchange.HYBRID);
            try (SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", d.port())) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                out.write("GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
                assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
                // The server names the group its side of this connection negotiated.
                List<String> headers = in.lines().takeWhile(l -> !l.isEmpty()).toList();
                assertThat(headers).anySatisfy(h -> assertThat(h.toLowerCase())
                        .isEqualTo(DashboardServer.TLS_GROUP_HEADER.toLowerCase() + ": " + KeyExchange.HYBRID_GROUP.toLowerCase()));
            }
        }
    }

    @Test
    void clientActivity_isBounded_andKeepsNoMalformedIds() {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-07T10:00:00Z"));
        ClientActivity activity = new ClientActivity(clock);
        activity.rejected("<img src=x onerror=alert(1)>", 1, RejectReason.BAD_SIGNATURE);
        activity.rejected("x".repeat(65), 1, RejectReason.BAD_SIGNATURE);
        assertThat(activity.size()).isZero();
        for (int i = 0; i < ClientActivity.CAPACITY + 500; i++) {
            clock.advance(Duration.ofMillis(1));
            activity.seen(new ClientId("c" + i));
        }
        assertThat(activity.size()).isEqualTo(ClientActivity.CAPACITY);
        assertThat(activity.recent(1)).singleElement()
                .satisfies(s -> assertThat(s.client()).isEqualTo("c" + (ClientActivity.CAPACITY + 499)));
        assertThat(activity.recent(ClientActivity.CAPACITY)).noneMatch(s -> s.client().equals("c0"));
    }
}
