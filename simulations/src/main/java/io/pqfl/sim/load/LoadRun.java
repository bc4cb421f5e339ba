package io.pqfl.sim.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A load test on loopback: a real coordinator process and N concurrent client agents, each on its own
 * connection from its own loopback address (127.1.x.y), over TLS with the hybrid key exchange when asked.
 * The agents are the production {@link ClientAgent} with training replaced by a fixed shift of the global
 * model ({@code w + delta_i}), so every update is a real, full-size, signed update and the expected
 * aggregate is known exactly: after each round the FedAvg model must be the previous one plus the mean of
 * the deltas. Checks: every client's update accepted in every round, each exactly once (ledger and the
 * signed model receipts), the ledger verifies, the final model equals the expected one.
 */
public final class LoadRun {
    /**
     * What to run. {@code certificates}: clients are admitted by federation certificates sent in Hello (no
     * trust-directory entries); otherwise their keys are placed in the trust directory. Needs {@code tls}.
     */
    public record Settings(int clients, int rounds, ModelCatalog model, SignatureScheme scheme, boolean tls, boolean certificates,
                           String heap, Duration roundTimeout) {
        public Settings {
            if (certificates && !tls) {
                throw new IllegalArgumentException("certificate identities come with the TLS transport");
            }
        }
    }

    /** What was measured and checked. */
    public record Result(Settings settings, long updateBytes, List<Double> roundSeconds, List<Double> updatesPerSecond,
                         double p50UploadMillis, double p99UploadMillis, double maxUploadMillis, double peakHeapSampledMib,
                         double heapPoolPeaksMib, double peakThreads, int accepted, int rejected, int clientErrors,
                         boolean ledgerVerified, boolean receiptsExact, double maxModelError, String tlsGroup,
                         int certified, long wallMillis) {
        public boolean ok() {
            return clientErrors == 0 && rejected == 0 && accepted == settings.clients() * settings.rounds() && ledgerVerified
                    && receiptsExact && maxModelError < 1e-3 && certified == (settings.certificates() ? settings.clients() : 0);
        }
    }

    private LoadRun() {
    }

    /** The shift client {@code i} adds to every weight. */
    public static float delta(int i) {
        return 1e-4f * ((i % 97) - 48);
    }

    /**
     * Runs the load test in {@code dir}. {@code coordinatorMain} is the {@code pqfl} main class that starts the
     * coordinator process (see {@link CoordinatorProcess}).
     */
    public static Result run(Settings s, String coordinatorMain, Path dir, Consumer<String> progress) throws Exception {
        long start = System.nanoTime();
        Files.createDirectories(dir);
        SigningKey coordinatorKey = Keys.generate(SignatureScheme.ML_DSA_65);
        KeyPem.writeKeyPair(coordinatorKey, dir.resolve("coordinator.key"), dir.resolve("coordinator.pub"), null);
        DataDirectory data = DataDirectory.of(dir.resolve("data"));
        Path trust = data.trust();
        Files.createDirectories(trust);
        List<SigningKey> keys = new ArrayList<>();
        for (int i = 0; i < s.clients(); i++) {
            SigningKey k = Keys.generate(s.scheme());
            keys.add(k);
            if (!s.certificates()) {
                KeyPem.writeVerifyingKey(k.verifyingKey(), trust.resolve(name(i) + ".pub"));
            }
        }
        List<byte[]> certificates = new ArrayList<>();
        int port = CoordinatorProcess.freePort();
        List<String> args = new ArrayList<>(List.of("--key", dir.resolve("coordinator.key").toString(), "--data-dir",
                data.root().toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--rounds", Integer.toString(s.rounds()), "--min-clients", Integer.toString(s.clients()),
                "--clients-per-round", Integer.toString(s.clients()), "--model", s.model().id(),
                "--round-timeout", s.roundTimeout().toSeconds() + "s", "--linger", "2s", "--no-final-evaluation",
                "--schemes", s.scheme().displayName()));
        SslContext clientTls = null;
        if (s.tls()) {
            CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "pqfl load-test CA", SignatureScheme.ML_DSA_65,
                    Duration.ofDays(1), null, Clock.systemUTC());
            Certificates.writeNew(dir.resolve("coordinator.crt"), ca.issue(Role.COORDINATOR, "coordinator",
                    coordinatorKey.verifyingKey(), List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1)));
            args.addAll(List.of("--tls-cert", dir.resolve("coordinator.crt").toString()));
            clientTls = PqTls.client(List.of(ca.certificate()), null, null, KeyExchange.HYBRID);
            if (s.certificates()) {
                args.addAll(List.of("--client-ca", dir.resolve("ca/ca.crt").toString(), "--client-crl",
                        dir.resolve("ca/ca.crl").toString()));
                for (int i = 0; i < s.clients(); i++) {
                    certificates.add(ca.issue(Role.CLIENT, name(i), keys.get(i).verifyingKey(), List.of(), List.of(),
                            Duration.ofDays(1)).getEncoded());
                }
            }
        } else {
            args.add("--plaintext");
        }
        List<long[]> uploads = Collections.synchronizedList(new ArrayList<>()); // {round, startNanos, endNanos}
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        double[] peaks = {0, 0, 0};
        String[] lastScrape = {null};
        String group = s.tls() ? "unknown" : "none (plaintext)";
        try (CoordinatorProcess coordinator = new CoordinatorProcess(coordinatorMain, args, s.heap(), dir.resolve("coordinator.log")).start()) {
            progress.accept("coordinator up on 127.0.0.1:" + port + "; starting " + s.clients() + " clients");
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    String m = coordinator.scrape();
                    if (m != null) {
                        lastScrape[0] = m;
                        peaks[0] = Math.max(peaks[0], CoordinatorProcess.sum(m, "jvm_memory_used_bytes", "area=\"heap\""));
                        peaks[1] = Math.max(peaks[1], CoordinatorProcess.sum(m, "pqfl_jvm_heap_peak_bytes", ""));
                        peaks[2] = Math.max(peaks[2], CoordinatorProcess.sum(m, "jvm_threads_live_threads", ""));
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "load-sampler");
            sampler.setDaemon(true);
            sampler.start();

            ExecutorService pool = Executors.newFixedThreadPool(s.clients());
            List<ManagedChannel> channels = new ArrayList<>();
            List<Future<ClientAgent.Summary>> futures = new ArrayList<>();
            for (int i = 0; i < s.clients(); i++) {
                InetSocketAddress local = new InetSocketAddress("127.1." + (i / 250) + "." + (i % 250 + 1), 0);
                NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", port).maxInboundMessageSize(8 << 20)
                        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                            @Override
                            public SocketAddress createSocketAddress(SocketAddress remote, io.grpc.Attributes a) {
                                return local;
                            }
                        });
                ManagedChannel ch = (clientTls != null ? b.sslContext(clientTls) : b.usePlaintext()).build();
                channels.add(ch);
                float d = delta(i);
                ClientAgent agent = new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId(name(i)), keys.get(i),
                        coordinatorKey.verifyingKey()).pollWait(Duration.ofSeconds(20)).seed(i)
                        .certificate(s.certificates() ? certificates.get(i) : null).build(), ClientAgent.Hooks.builder()
                        .observe(r -> {
                            long end = System.nanoTime();
                            uploads.add(new long[] {r.round(), end - r.uploadMillis() * 1_000_000L, end, r.accepted() ? 1 : 0});
                        }).build(), new SyntheticTrainer(s.model().manifest(), d), ClientAgent.Progress.NONE);
                futures.add(pool.submit(() -> {
                    try {
                        return agent.run();
                    } catch (RuntimeException e) {
                        errors.add(e);
                        throw e;
                    }
                }));
            }
            int clientErrors = 0;
            for (Future<ClientAgent.Summary> f : futures) {
                try {
                    ClientAgent.Summary summary = f.get(s.rounds() * (s.roundTimeout().toMillis() + 60_000), TimeUnit.MILLISECONDS);
                    if (!summary.finished() || summary.updatesRejected() > 0) {
                        clientErrors++;
                    }
                } catch (ExecutionException e) {
                    clientErrors++;
                }
            }
            pool.shutdown();
            int exit = coordinator.await(Duration.ofMinutes(2));
            sampler.interrupt();
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
            if (exit != 0) {
                throw new IllegalStateException("the coordinator exited with " + exit + ":\n" + coordinator.tail());
            }
            if (s.tls() && lastScrape[0] != null) {
                group = tlsGroups(lastScrape[0]);
            }
            return check(s, dir, coordinatorKey, uploads, clientErrors, errors, peaks, group, start);
        }
    }

    private static Result check(Settings s, Path dir, SigningKey coordinatorKey, List<long[]> uploads, int clientErrors,
                                List<Throwable> errors, double[] peaks, String group, long start) throws Exception {
        DataDirectory data = DataDirectory.of(dir.resolve("data"));
        int accepted = 0;
        int rejected = 0;
        int certified = 0;
        boolean receiptsExact = true;
        boolean verified;
        try (Database db = Database.open(data.jdbcUrl())) {
            Map<Long, Set<String>> perRound = new TreeMap<>();
            for (LedgerEntry e : new Ledger(db, Clock.systemUTC()).entries()) {
                switch (e.kind()) {
                    case UPDATE_ACCEPTED -> {
                        accepted++;
                        if (!perRound.computeIfAbsent(e.round(), r -> new HashSet<>()).add(e.clientId())) {
                            receiptsExact = false; // the same client accepted twice in one round
                        }
                    }
                    case UPDATE_REJECTED -> rejected++;
                    case CLIENT_CERTIFIED -> certified++;
                    case MODEL_PUBLISHED -> {
                        if (e.round() > 0) {
                            ModelStatement st = ModelStatement.decode(e.statement());
                            Set<String> receipt = new HashSet<>();
                            st.receipt().forEach(r -> receipt.add(r.clientId().value()));
                            receiptsExact &= st.receipt().size() == s.clients() && receipt.size() == s.clients()
                                    && receipt.equals(perRound.getOrDefault(e.round(), Set.of()));
                        }
                    }
                    default -> { }
                }
            }
            receiptsExact &= perRound.size() == s.rounds();
            verified = LedgerVerifier.verify(db, coordinatorKey.verifyingKey(), data.checkpoints()).ok();
        }
        ModelWeights initial = ModelFiles.read(data.checkpoint(0)).weights();
        ModelWeights last = ModelFiles.read(data.checkpoint(s.rounds())).weights();
        double meanDelta = 0;
        for (int i = 0; i < s.clients(); i++) {
            meanDelta += delta(i);
        }
        meanDelta /= s.clients();
        double maxError = 0;
        for (int t = 0; t < initial.tensorCount(); t++) {
            float[] a = initial.tensor(t);
            float[] b = last.tensor(t);
            for (int j = 0; j < a.length; j++) {
                maxError = Math.max(maxError, Math.abs(b[j] - (a[j] + s.rounds() * meanDelta)));
            }
        }
        List<Double> roundSeconds = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        List<Double> latencies = new ArrayList<>();
        for (int r = 1; r <= s.rounds(); r++) {
            long first = Long.MAX_VALUE;
            long lastEnd = Long.MIN_VALUE;
            int n = 0;
            synchronized (uploads) {
                for (long[] u : uploads) {
                    if (u[0] == r) {
                        first = Math.min(first, u[1]);
                        lastEnd = Math.max(lastEnd, u[2]);
                        latencies.add((u[2] - u[1]) / 1e6);
                        n++;
                    }
                }
            }
            double secs = n == 0 ? Double.NaN : (lastEnd - first) / 1e9;
            roundSeconds.add(secs);
            rates.add(n / secs);
        }
        Collections.sort(latencies);
        for (Throwable t : errors) {
            org.slf4j.LoggerFactory.getLogger(LoadRun.class).warn("client failed", t);
        }
        return new Result(s, s.model().manifest().totalBytes(), roundSeconds, rates, percentile(latencies, 0.5),
                percentile(latencies, 0.99), latencies.isEmpty() ? Double.NaN : latencies.get(latencies.size() - 1),
                peaks[0] / (1 << 20), peaks[1] / (1 << 20), peaks[2], accepted, rejected, clientErrors, verified, receiptsExact,
                maxError, group, certified, (System.nanoTime() - start) / 1_000_000);
    }

    /** Writes what was measured and checked, with the settings, as JSON ({@code pqfl bench-load}'s load.json). */
    public static void writeJson(Result r, Path file) throws IOException {
        Settings s = r.settings();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("clients", s.clients());
        json.put("rounds", s.rounds());
        json.put("model", s.model().id());
        json.put("updateBytes", r.updateBytes());
        json.put("scheme", s.scheme().displayName());
        json.put("transport", s.tls() ? "tls" : "grpc");
        json.put("coordinatorHeap", s.heap());
        json.put("roundSeconds", r.roundSeconds());
        json.put("updatesPerSecond", r.updatesPerSecond());
        json.put("uploadMillisP50", r.p50UploadMillis());
        json.put("uploadMillisP99", r.p99UploadMillis());
        json.put("uploadMillisMax", r.maxUploadMillis());
        json.put("peakHeapSampledMiB", r.peakHeapSampledMib());
        json.put("heapPoolPeaksMiB", r.heapPoolPeaksMib());
        json.put("peakThreads", r.peakThreads());
        json.put("tlsGroup", r.tlsGroup());
        json.put("identities", s.certificates() ? "certificates" : "trust-dir");
        json.put("clientsCertified", r.certified());
        json.put("accepted", r.accepted());
        json.put("rejected", r.rejected());
        json.put("clientErrors", r.clientErrors());
        json.put("ledgerVerified", r.ledgerVerified());
        json.put("receiptsExact", r.receiptsExact());
        json.put("maxModelError", r.maxModelError());
        json.put("ok", r.ok());
        json.put("wallMillis", r.wallMillis());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
    }

    /** The coordinator's TLS connections by negotiated group, from its metrics: e.g. "X25519MLKEM768" or "X25519MLKEM768 x500, x25519 x1". */
    static String tlsGroups(String scrape) {
        Map<String, Long> byGroup = new TreeMap<>();
        for (String line : scrape.split("\n")) {
            if (line.startsWith("pqfl_tls_handshakes_total{")) {
                String g = line.replaceAll(".*group=\"([^\"]*)\".*", "$1");
                byGroup.merge(g, (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), Long::sum);
            }
        }
        if (byGroup.size() == 1) {
            return byGroup.keySet().iterator().next();
        }
        return byGroup.isEmpty() ? "unknown" : byGroup.entrySet().stream().map(e -> e.getKey() + " x" + e.getValue())
                .collect(Collectors.joining(", "));
    }

    static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(q * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    static String name(int i) {
        return String.format("load-%04d", i);
    }

}
