package io.pqfl.coordinator.metrics;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;

/**
 * A minimal HTTP endpoint serving {@code GET /metrics} in Prometheus text format. Requests are served by a
 * small pool, not the accepting thread, and a request that does not arrive in full within ten seconds is
 * dropped, so one half-sent request cannot block every scrape. It has no authentication: bind it to loopback
 * (the default) or a monitoring network.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService pool;

    public MetricsEndpoint(String host, int port, CoordinatorMetrics metrics) throws IOException {
        io.pqfl.coordinator.server.HttpEndpoints.boundRequestTime();
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
        pool = io.pqfl.coordinator.server.HttpEndpoints.pool("pqfl-metrics", 4);
        server.setExecutor(pool);
        server.createContext("/metrics", exchange -> {
            byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
