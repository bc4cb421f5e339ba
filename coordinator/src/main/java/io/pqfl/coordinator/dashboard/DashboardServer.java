package io.pqfl.coordinator.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.pqfl.coordinator.server.HttpEndpoints;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.transport.PqTls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ExecutorService;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's read-only web dashboard: a static page ({@code /}, its script and style, served from the jar:
 * no build step) that polls {@code GET /api/state} ({@link DashboardState}) every second. Over HTTPS with the
 * coordinator's TLS context when it has one. Only GET and HEAD of those four paths are answered (405 and 404
 * otherwise), and only to requests whose {@code Host} names this dashboard (421 otherwise, against DNS rebinding);
 * requests are served by a pool of eight threads, one that does not arrive within five seconds is dropped, and at
 * most 64 connections are held ({@link HttpEndpoints}). The page builds its tables with {@code textContent} only, and a Content-Security-Policy allows no
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

    /** Threads serving requests: a few slow ones do not hold up the rest (connections are capped, HttpEndpoints). */
    private static final int THREADS = 8;

    private final HttpServer server;
    private final ExecutorService pool;
    private final boolean tls;
    private final Set<String> allowedHosts;
    private final AtomicLong lastWarning = new AtomicLong();

    /** As {@link #DashboardServer(String, int, SSLContext, DashboardState, Set)} answering to no extra host names. */
    public DashboardServer(String host, int port, SSLContext tls, DashboardState state) throws IOException {
        this(host, port, tls, state, Set.of());
    }

    /**
     * Starts serving {@code state} on {@code host:port} (0: any free port); over HTTPS with {@code tls}, plain HTTP
     * when it is null. A request is answered only if its {@code Host} names {@code localhost}, a loopback address,
     * {@code host} itself or one of {@code hostNames} (any port): a page on another site whose name an attacker points
     * at this address (DNS rebinding) is refused, 421.
     */
    public DashboardServer(String host, int port, SSLContext tls, DashboardState state, Set<String> hostNames)
            throws IOException {
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
        pool = HttpEndpoints.pool("pqfl-dashboard", THREADS);
        Set<String> names = new HashSet<>(List.of("localhost", "127.0.0.1", "[::1]"));
        if (!host.equals("0.0.0.0") && !host.equals("::") && !host.equals("[::]")) {
            names.add(hostPart(host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host));
        }
        hostNames.forEach(n -> names.add(hostPart(n)));
        this.allowedHosts = Set.copyOf(names);
        server.setExecutor(pool);
        server.createContext("/", exchange -> {
            try (exchange) {
                serve(exchange, state);
            } catch (IOException e) {
                log.debug("dashboard request failed: {}", e.toString());
            } catch (RuntimeException e) {
                failed(exchange, e);
            }
        });
        server.start();
    }

    /** A request the dashboard could not answer (its state could not be built): 500, and a warning a minute at most. */
    private void failed(HttpExchange exchange, RuntimeException e) {
        long now = System.nanoTime();
        long last = lastWarning.get();
        if ((last == 0 || now - last > TimeUnit.MINUTES.toNanos(1)) && lastWarning.compareAndSet(last, now)) {
            log.warn("The dashboard could not answer {}: {}", LogSafe.text(exchange.getRequestURI().getRawPath()),
                    e.toString(), e);
        }
        try {
            send(exchange, 500, "text/plain; charset=utf-8",
                    "the dashboard could not build its state; see the coordinator's log\n".getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException ignored) {
            // the response had already begun: the connection closes
        }
    }

    /** The host of a {@code Host} header value, lower case, without its port ({@code [::1]:8443} is {@code [::1]}). */
    static String hostPart(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("[")) {
            int end = v.indexOf(']');
            return end < 0 ? v : v.substring(0, end + 1);
        }
        int colon = v.indexOf(':');
        return colon < 0 ? v : v.substring(0, colon);
    }

    private void serve(HttpExchange exchange, DashboardState state) throws IOException {
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
        String host = exchange.getRequestHeaders().getFirst("Host");
        if (host == null || !allowedHosts.contains(hostPart(host))) {
            send(exchange, 421, "text/plain; charset=utf-8", ("this dashboard does not answer to that host name; "
                    + "give it with --dashboard-names\n").getBytes(StandardCharsets.UTF_8));
            return;
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
