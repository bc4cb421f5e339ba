package io.pqfl.coordinator.server;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What the coordinator's plain HTTP endpoints (metrics, dashboard) share: a request must arrive in full within ten
 * seconds, and requests are served by a small pool of daemon threads, not the accepting thread, so one half-sent
 * request cannot block the others.
 */
public final class HttpEndpoints {
    private HttpEndpoints() {
    }

    /** Bounds how long the JDK's HTTP server waits for a request (read when a server is first used). */
    public static void boundRequestTime() {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", "10");
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
