package io.pqfl.coordinator.server;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.proto.v1.FederationGrpc;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's gRPC server. Takes a {@link ServerBuilder} so tests can hand it an in-process builder
 * and production a Netty one on a real port; serves the federation service and the standard health service.
 */
public final class CoordinatorServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);
    /** Largest single message: a 1 MiB chunk plus framing, with room for a larger configured chunk. */
    public static final int MAX_MESSAGE_BYTES = 8 << 20;

    private final Server server;
    private final Coordinator coordinator;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ExecutorService executor;
    private Thread shutdownHook;

    public CoordinatorServer(ServerBuilder<?> builder, Coordinator coordinator) {
        this.coordinator = Objects.requireNonNull(coordinator, "coordinator");
        int threads = coordinator.config().serverThreads();
        if (threads > 0) {
            // A bounded pool for the service's work (decoding, digesting, verifying chunks as they arrive): with
            // gRPC's default cached pool, hundreds of concurrent uploads mean hundreds of threads.
            this.executor = Executors.newFixedThreadPool(threads, new ThreadFactory() {
                private final AtomicInteger n = new AtomicInteger();

                @Override
                public Thread newThread(Runnable r) {
                    Thread t = new Thread(r, "pqfl-grpc-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }
            });
            builder.executor(executor);
        } else {
            this.executor = null;
        }
        RateLimiter limiter = new RateLimiter(coordinator.config().helloPerSecond(), coordinator.config().helloBurst(),
                coordinator.config().callPerSecond(), coordinator.config().callBurst(), System::nanoTime);
        if (builder instanceof NettyServerBuilder netty) {
            limitConnections(netty, coordinator.config().maxCallsPerConnection());
        }
        // Interceptors run last-listed first: the rate limit, then TLS identity, then the session check.
        RequestTimeoutInterceptor requestTimeout = new RequestTimeoutInterceptor(coordinator.config().requestTimeout(),
                FederationService.TIMER);
        this.server = builder.addService(ServerInterceptors.intercept(new FederationService(coordinator),
                        new SessionInterceptor(coordinator.identity()), new TlsInterceptor(coordinator.metrics()), requestTimeout, limiter))
                .addService(ServerInterceptors.intercept(health.getHealthService(), requestTimeout, limiter)).maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .maxInboundMetadataSize(MAX_METADATA_BYTES).build();
    }

    /** Largest request metadata (headers) accepted: a session token and gRPC's own headers fit many times over. */
    public static final int MAX_METADATA_BYTES = 16 << 10;

    /**
     * Bounds what one connection may hold: concurrent calls (HTTP/2 streams), idle connections, and pings.
     * Clients' keepalive pings more often than every 10 s are answered with GOAWAY (gRPC's "too_many_pings").
     */
    static void limitConnections(NettyServerBuilder netty, int maxCallsPerConnection) {
        netty.maxConcurrentCallsPerConnection(maxCallsPerConnection)
                .keepAliveTime(60, TimeUnit.SECONDS)
                .keepAliveTimeout(20, TimeUnit.SECONDS)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxConnectionIdle(15, TimeUnit.MINUTES)
                // Nothing lives forever: a connection is asked to go away after an hour, and its calls are given
                // the upload timeout's ten minutes to finish (clients reconnect transparently).
                .maxConnectionAge(1, TimeUnit.HOURS)
                .maxConnectionAgeGrace(10, TimeUnit.MINUTES);
    }

    /** Starts serving and the round loop. */
    public CoordinatorServer start() throws IOException {
        server.start();
        health.setStatus(FederationGrpc.SERVICE_NAME, ServingStatus.SERVING);
        health.setStatus("", ServingStatus.SERVING);
        coordinator.start();
        log.info("Coordinator for federation {} listening on port {}", coordinator.config().federationId(), port());
        return this;
    }

    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getPort();
    }

    /** Stops cleanly on SIGTERM / Ctrl-C. */
    public CoordinatorServer withShutdownHook() {
        shutdownHook = new Thread(() -> {
            log.info("Shutting down (signal)");
            try {
                close();
            } catch (Exception e) {
                log.warn("Error during shutdown", e);
            }
        }, "pqfl-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        return this;
    }

    /**
     * Stops the server and closes the coordinator, once: a second call (the shutdown hook at exit after a normal
     * close) does nothing.
     */
    @Override
    public void close() throws Exception {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running or about to: it will find the server closed
            }
        }
        health.enterTerminalState();
        server.shutdown();
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        coordinator.close();
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
