package io.pqfl.coordinator.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** The coordinator's metrics, exposed in Prometheus format by {@link MetricsEndpoint}. */
public final class CoordinatorMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer verification;
    private final Counter bytesReceived;
    private final Timer roundDuration;
    private final AtomicInteger connected = new AtomicInteger();

    public CoordinatorMetrics() {
        verification = Timer.builder("pqfl.verification").description("Signature verification of one update")
                .publishPercentiles(0.5, 0.99).register(registry);
        bytesReceived = Counter.builder("pqfl.bytes.received").description("Update tensor bytes received")
                .baseUnit("bytes").register(registry);
        roundDuration = Timer.builder("pqfl.round.duration").description("Wall time of a round, open to close")
                .register(registry);
        registry.gauge("pqfl.clients.connected", connected);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        // Sum of the heap pools' peak usage since start: an upper bound on the peak heap, for load tests.
        Gauge.builder("pqfl.jvm.heap.peak", CoordinatorMetrics::heapPeak)
                .description("Sum of the heap memory pools' peak usage since start (an upper bound on peak heap)")
                .baseUnit("bytes").register(registry);
    }

    private static double heapPeak() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    public MeterRegistry registry() {
        return registry;
    }

    public String scrape() {
        return registry.scrape();
    }

    public void updateAccepted() {
        Counter.builder("pqfl.updates").tag("outcome", "accepted").tag("reason", "none").register(registry).increment();
    }

    public void updateRejected(String reason) {
        Counter.builder("pqfl.updates").tag("outcome", "rejected").tag("reason", reason).register(registry).increment();
    }

    public void round(String outcome, Duration duration) {
        Counter.builder("pqfl.rounds").tag("outcome", outcome).register(registry).increment();
        roundDuration.record(duration);
    }

    public <T> T timeVerification(Supplier<T> work) {
        return verification.record(work);
    }

    /** One TLS connection, by negotiated key-exchange group. */
    public void tlsHandshake(String group) {
        Counter.builder("pqfl.tls.handshakes").description("TLS connections by negotiated key exchange")
                .tag("group", group).register(registry).increment();
    }

    public void bytesReceived(long n) {
        bytesReceived.increment(n);
    }

    public void connectedClients(int n) {
        connected.set(n);
    }

    public double count(String name, String... tags) {
        var counter = registry.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }
}
