package io.pqfl.coordinator.server;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What the coordinator's plain HTTP endpoints (metrics, dashboard) share: a request must arrive in full within five
 * seconds, at most {@link #MAX_CONNECTIONS} connections at once, and requests are served by a small pool of daemon
 * threads, not the accepting thread.
 */
public final class HttpEndpoints {
    private HttpEndpoints() {
    }

    /** Connections one endpoint holds at most (each is a file descriptor of the coordinator's). */
    public static final int MAX_CONNECTIONS = 64;

    /**
     * Bounds the JDK's HTTP servers (read when the first one is made): a request must arrive within five seconds, and
     * an endpoint holds at most {@link #MAX_CONNECTIONS} connections, so a flood of idle connections can neither tie
     * up its threads for long nor spend the descriptors the gRPC port and the database need.
     */
    public static void boundRequestTime() {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", "5");
        }
        if (System.getProperty("jdk.httpserver.maxConnections") == null) {
            System.setProperty("jdk.httpserver.maxConnections", Integer.toString(MAX_CONNECTIONS));
        }
    }

    /** A fixed pool of {@code threads} daemon threads named {@code name}. */
    public static ExecutorService pool(String name, int threads) {
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }
}
