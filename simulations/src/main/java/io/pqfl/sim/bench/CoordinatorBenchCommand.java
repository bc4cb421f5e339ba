package io.pqfl.sim.bench;

import io.pqfl.coordinator.aggregate.RoundAggregator;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.verify.RoundContext;
import io.pqfl.coordinator.verify.UpdateRejectedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.PayloadHasher;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.cli.Cli;
import io.pqfl.protocol.ModelCatalog;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl bench-coordinator}: the coordinator's upload path without the network — one-pass
 * digest-and-decode of each update's chunks, the statement, the signature check — measured in signed
 * updates per second on 1 and 2 threads, and the heap used while FedAvg (streaming) and FedMedian
 * (buffering) aggregate many clients' updates. The update values are random (what is measured does not
 * depend on them); every update is really signed and really verified.
 */
@Command(name = "bench-coordinator", mixinStandardHelpOptions = true,
        description = "Measure the coordinator's verification throughput (1 vs 2 threads) and aggregation memory.")
public final class CoordinatorBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scheme", defaultValue = "ML-DSA-65", description = "Client signature scheme (default: ${DEFAULT-VALUE}).")
    SignatureScheme scheme;

    @Option(names = "--small-clients", defaultValue = "200", description = "Updates for the small model (default: ${DEFAULT-VALUE}).")
    int smallClients;

    @Option(names = "--large-clients", defaultValue = "16", description = "Updates for the ~50 MB model (default: ${DEFAULT-VALUE}).")
    int largeClients;

    @Option(names = "--large-mib", defaultValue = "50", description = "Size of the large model in MiB (default: ${DEFAULT-VALUE}).")
    int largeMib;

    private static final int CHUNK = 1 << 20;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ModelManifest small = ModelCatalog.MLP.manifest();
        ModelManifest large = new ModelManifest("synthetic", List.of(TensorSpec.of("w", largeMib * 256, 1024)));
        w.printf("pqfl bench-coordinator: %s client signatures, %d cores, max heap %d MiB%n", scheme,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        String fmt = "%-28s %8s %8s %12s %12s %14s%n";
        w.printf(fmt, "MODEL", "UPDATES", "THREADS", "UPDATES/s", "MB/s", "PEAK HEAP MiB");
        w.flush();
        for (ModelManifest m : List.of(small, large)) {
            int clients = m == small ? smallClients : largeClients;
            Fixture f = new Fixture(m, clients, scheme);
            for (int threads : new int[] {1, 2}) {
                Result r = f.verifyAll(threads, "fedavg");
                w.printf(fmt, label(m), clients, threads, fmt1(r.perSecond), fmt1(r.mbPerSecond), r.peakHeapMib);
                w.flush();
            }
            Result median = f.verifyAll(2, "fedmedian");
            w.printf(fmt, label(m) + " (fedmedian)", clients, 2, fmt1(median.perSecond), fmt1(median.mbPerSecond), median.peakHeapMib);
            w.flush();
        }
        return Cli.OK;
    }

    private static String label(ModelManifest m) {
        return m.architecture() + " (" + String.format(Locale.ROOT, "%.1f", m.totalBytes() / 1e6) + " MB)";
    }

    private static String fmt1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    record Result(double perSecond, double mbPerSecond, long peakHeapMib) {
    }

    /** Clients, their keys and signed statements; update bytes are regenerated from a seed when sent. */
    static final class Fixture {
        final ModelManifest manifest;
        final int clients;
        final List<SigningKey> keys = new ArrayList<>();
        final List<UpdateHeader> headers = new ArrayList<>();
        final List<SignatureValue> signatures = new ArrayList<>();
        final TrustStore trust;
        final RoundContext round;
        final PayloadDigest base;
        final SignatureScheme scheme;

        Fixture(ModelManifest manifest, int clients, SignatureScheme scheme) throws Exception {
            this.manifest = manifest;
            this.clients = clients;
            this.scheme = scheme;
            this.trust = TrustStore.open(Files.createTempDirectory("bench-trust"));
            this.base = ModelWeights.zeros(manifest).digest();
            RoundNonce nonce = RoundNonce.random(new SecureRandom());
            List<ClientId> ids = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                SigningKey key = Keys.generate(scheme);
                ClientId id = new ClientId("client-" + i);
                trust.add(id, key.verifyingKey());
                ids.add(id);
                keys.add(key);
                PayloadHasher h = new PayloadHasher().update(manifest.encode());
                forEachChunk(i, c -> h.update(c.duplicate()));
                UpdateHeader header = new UpdateHeader("bench", 1, nonce, id, key.keyId(), scheme, base, manifest, 100,
                        manifest.totalBytes());
                headers.add(header);
                UpdateStatement st = header.statement(h.finish());
                signatures.add(Signer.create(key).sign(st.encode()));
            }
            this.round = new RoundContext("bench", 1, nonce, base, manifest, Set.copyOf(ids));
        }

        /** The deterministic pseudo-random wire bytes of client i's update, in 1 MiB chunks. */
        void forEachChunk(int client, java.util.function.Consumer<ByteBuffer> sink) {
            SplittableRandom random = new SplittableRandom(client);
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            long left = manifest.totalElements();
            while (left > 0) {
                chunk.clear();
                int n = (int) Math.min(left, CHUNK / 4);
                for (int k = 0; k < n; k++) {
                    chunk.putFloat((float) (random.nextDouble() - 0.5));
                }
                chunk.flip();
                sink.accept(chunk);
                left -= n;
            }
        }

        Result verifyAll(int threads, String strategy) throws Exception {
            UpdateVerifier verifier = new UpdateVerifier(trust, Set.of(scheme), Long.MAX_VALUE);
            RoundAggregator aggregator = Strategies.create(strategy, Map.of()).begin(1, ModelWeights.zeros(manifest));
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            System.gc();
            AtomicLong peak = new AtomicLong(memory.getHeapMemoryUsage().getUsed());
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            long start = System.nanoTime();
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int client = i;
                futures.add(pool.submit(() -> {
                    VerifiedUpdate u = receive(verifier, client);
                    synchronized (aggregator) {
                        aggregator.accept(u);
                    }
                    peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            aggregator.finish();
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
            return new Result(clients / seconds, clients * manifest.totalBytes() / 1e6 / seconds, peak.get() >> 20);
        }

        VerifiedUpdate receive(UpdateVerifier verifier, int client) throws UpdateRejectedException {
            UpdateHeader header = headers.get(client);
            var key = verifier.checkHeader(header, round);
            WeightsReceiver receiver = new WeightsReceiver(manifest);
            forEachChunk(client, c -> {
                try {
                    receiver.accept(c);
                } catch (WeightsReceiver.OverflowException e) {
                    throw new IllegalStateException(e);
                }
            });
            return verifier.verify(header, key, receiver.digest(), receiver.receivedBytes(), receiver.weights(),
                    signatures.get(client));
        }
    }
}
