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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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

            List<TestClient> clients = fed.hello("c1", "c2");
            TestClient c1 = clients.get(0);
            TestClient c2 = clients.get(1);
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

    /** The status of GET /api/state over plain HTTP with the given Host header; -1 if the server closed first. */
    private static int rawStatus(int port, String host) throws Exception {
        return RawHttp.get(javax.net.SocketFactory.getDefault(), port, host, "/api/state").status();
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
            RawHttp reply = RawHttp.get(cert.clientContext(KeyExchange.HYBRID).getSocketFactory(), d.port(), "127.0.0.1",
                    "/api/state");
            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.tlsProtocol()).isEqualTo("TLSv1.3");
            assertThat(reply.body()).contains("\"federation\"");
            // The server names the group its side of this connection negotiated (TLS 1.3 is all it offers).
            assertThat(reply.header(DashboardServer.TLS_GROUP_HEADER)).hasValue(KeyExchange.HYBRID_GROUP);
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
