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
    private final Counter bytesSent;
    private final Timer roundDuration;
    private final AtomicInteger connected = new AtomicInteger();

    public CoordinatorMetrics() {
        verification = Timer.builder("pqfl.verification").description("Signature verification of one update")
                .publishPercentiles(0.5, 0.99).register(registry);
        bytesReceived = Counter.builder("pqfl.bytes.received").description("Update tensor bytes received")
                .baseUnit("bytes").register(registry);
        bytesSent = Counter.builder("pqfl.bytes.sent").description("Global model bytes streamed in tasks")
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

    public void evaluationAccepted() {
        Counter.builder("pqfl.evaluations").tag("outcome", "accepted").tag("reason", "none").register(registry).increment();
    }

    public void evaluationRejected(String reason) {
        Counter.builder("pqfl.evaluations").tag("outcome", "rejected").tag("reason", reason).register(registry).increment();
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

    /**
     * One task streamed: with the model's {@code modelBytes}, or without them because the client holds the model
     * ({@code TaskRequest.held_model_digest}).
     */
    public void taskStreamed(boolean modelHeld, long modelBytes) {
        Counter.builder("pqfl.tasks").description("Tasks streamed, by whether the model went with them or the client held it")
                .tag("model", modelHeld ? "held" : "sent").register(registry).increment();
        if (!modelHeld) {
            bytesSent.increment(modelBytes);
        }
    }

    /** Tasks streamed so far without the model's bytes ({@code held}) or with them. */
    public double tasks(boolean held) {
        return registry.find("pqfl.tasks").tag("model", held ? "held" : "sent").counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    public void bytesReceived(long n) {
        bytesReceived.increment(n);
    }

    public void connectedClients(int n) {
        connected.set(n);
    }

    /**
     * Metric names a client may report that get a gauge of their own: metric names are the clients' choice, so only
     * these well-known ones become series (a bounded set); the rest are in the store, the ledger and the status.
     */
    public static final java.util.Set<String> GAUGED_METRICS = java.util.Set.of("accuracy", "mae", "rmse", "eval_loss",
            "eval_accuracy");

    private final java.util.Map<String, java.util.concurrent.atomic.AtomicReference<Double>> gauges =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The newest aggregate of a source: {@code pqfl_federated_evaluation_*}, {@code pqfl_central_evaluation_*} or
     * {@code pqfl_client_reported_*} ({@code _loss}, {@code _examples}, {@code _round}, and each of
     * {@link #GAUGED_METRICS} the aggregate has). An empty aggregate changes nothing.
     */
    public void evaluation(io.pqfl.coordinator.evaluate.EvaluationSummary s) {
        if (s.empty()) {
            return;
        }
        String prefix = switch (s.source()) {
            case FEDERATED -> "pqfl.federated.evaluation.";
            case CENTRAL -> "pqfl.central.evaluation.";
            case CLIENT_REPORTS -> "pqfl.client.reported.";
        };
        gauge(prefix + "loss", s.loss());
        gauge(prefix + "examples", s.examples());
        gauge(prefix + "round", s.round());
        s.metrics().forEach((name, v) -> {
            if (GAUGED_METRICS.contains(name)) {
                gauge(prefix + name, v);
            }
        });
    }

    private void gauge(String name, double value) {
        gauges.computeIfAbsent(name, n -> {
            var holder = new java.util.concurrent.atomic.AtomicReference<>(value);
            Gauge.builder(n, holder, h -> h.get()).register(registry);
            return holder;
        }).set(value);
    }

    /** CPU time the coordinator spent on one round's secure-aggregation protocol (verifying, routing, unmasking). */
    public void secureAggregation(long nanos) {
        Timer.builder("pqfl.secagg.coordinator").description("Coordinator time in one round's secure-aggregation protocol")
                .register(registry).record(Duration.ofNanos(nanos));
    }

    /** A timer's total time in milliseconds, or 0 when it has none. */
    public double timerTotalMillis(String name) {
        var t = registry.find(name).timer();
        return t == null ? 0 : t.totalTime(java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** A gauge's value, or NaN when it has none (tests). */
    public double gaugeValue(String name) {
        var g = registry.find(name).gauge();
        return g == null ? Double.NaN : g.value();
    }

    public double count(String name, String... tags) {
        var counter = registry.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }
}
