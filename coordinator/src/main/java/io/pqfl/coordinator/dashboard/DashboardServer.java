package io.pqfl.coordinator.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.pqfl.coordinator.server.HttpEndpoints;
import io.pqfl.transport.PqTls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's read-only web dashboard: a static page ({@code /}, its script and style, served from the jar:
 * no build step) that polls {@code GET /api/state} ({@link DashboardState}) every second. Over HTTPS with the
 * coordinator's TLS context when it has one. Only GET and HEAD of those four paths are answered (405 and 404
 * otherwise); requests are served by a pool of two threads and one that does not arrive within ten seconds is
 * dropped. The page builds its tables with {@code textContent} only, and a Content-Security-Policy allows no
 * inline script, so a client id or a ledger detail is never run as markup.
 */
public final class DashboardServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DashboardServer.class);
    private static final String RESOURCES = "/io/pqfl/coordinator/dashboard/";
    private static final Map<String, String[]> FILES = Map.of(
            "/", new String[] {"index.html", "text/html; charset=utf-8"},
            "/dashboard.js", new String[] {"dashboard.js", "text/javascript; charset=utf-8"},
            "/dashboard.css", new String[] {"dashboard.css", "text/css; charset=utf-8"});

    /** The response header naming the TLS key-exchange group of the request's connection. */
    public static final String TLS_GROUP_HEADER = "X-Pqfl-Tls-Group";

    private final HttpServer server;
    private final ExecutorService pool;
    private final boolean tls;

    /**
     * Starts serving {@code state} on {@code host:port} (0: any free port); over HTTPS with {@code tls}, plain HTTP
     * when it is null.
     */
    public DashboardServer(String host, int port, SSLContext tls, DashboardState state) throws IOException {
        HttpEndpoints.boundRequestTime();
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (tls == null) {
            server = HttpServer.create(address, 16);
        } else {
            HttpsServer https = HttpsServer.create(address, 16);
            https.setHttpsConfigurator(new HttpsConfigurator(tls) {
                @Override
                public void configure(HttpsParameters params) {
                    // The context's engines come configured (TLS 1.3, the hybrid group first): keep their parameters.
                }
            });
            server = https;
        }
        this.tls = tls != null;
        pool = HttpEndpoints.pool("pqfl-dashboard", 2);
        server.setExecutor(pool);
        server.createContext("/", exchange -> {
            try (exchange) {
                serve(exchange, state);
            } catch (IOException | RuntimeException e) {
                log.debug("dashboard request failed: {}", e.toString());
            }
        });
        server.start();
    }

    private static void serve(HttpExchange exchange, DashboardState state) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        var headers = exchange.getResponseHeaders();
        headers.add("X-Content-Type-Options", "nosniff");
        headers.add("X-Frame-Options", "DENY");
        headers.add("Referrer-Policy", "no-referrer");
        headers.add("Cache-Control", "no-store");
        headers.add("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
                + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        if (exchange instanceof HttpsExchange https) {
            // The page shows the key exchange its own connection negotiated (X25519MLKEM768 with a current browser).
            PqTls.negotiatedGroup(https.getSSLSession()).ifPresent(g -> headers.add(TLS_GROUP_HEADER, g));
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            headers.add("Allow", "GET, HEAD");
            send(exchange, 405, "text/plain; charset=utf-8", "read-only: only GET and HEAD\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        byte[] body;
        String type;
        if (path.equals("/api/state")) {
            try {
                body = state.json();
            } catch (java.sql.SQLException e) {
                send(exchange, 503, "text/plain; charset=utf-8",
                        "the coordinator's database did not answer\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            type = "application/json";
        } else if (FILES.containsKey(path)) {
            String[] file = FILES.get(path);
            body = resource(file[0]);
            type = file[1];
        } else {
            send(exchange, 404, "text/plain; charset=utf-8", "no such page\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        send(exchange, 200, type, method.equals("HEAD") ? null : body);
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, body == null ? -1 : body.length);
        if (body != null) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = DashboardServer.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's " + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return tls ? "https" : "http";
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
