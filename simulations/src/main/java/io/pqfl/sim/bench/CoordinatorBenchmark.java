package io.pqfl.sim.bench;

import io.pqfl.coordinator.aggregate.RoundAggregator;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.verify.RoundContext;
import io.pqfl.coordinator.RefusedException;
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
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The coordinator's upload path without the network — one-pass digest-and-decode of each update's chunks, the
 * statement, the signature check — measured in signed updates per second, and the heap used while a strategy
 * aggregates them: FedAvg streams, FedMedian buffers. The update values are random (what is measured does not
 * depend on them); every update is really signed and really verified.
 */
public final class CoordinatorBenchmark {
    private static final int CHUNK = 1 << 20;

    private CoordinatorBenchmark() {
    }

    /** Signed updates verified and aggregated per second, their throughput, and the peak heap seen meanwhile. */
    public record Result(double perSecond, double mbPerSecond, long peakHeapMib) {
    }

    /** A round of {@code clients} signed updates of {@code manifest}, ready to be verified again and again. */
    public static Fixture fixture(ModelManifest manifest, int clients, SignatureScheme scheme) throws Exception {
        return new Fixture(manifest, clients, scheme);
    }

    /** Clients, their keys and signed statements; update bytes are regenerated from a seed when sent. */
    public static final class Fixture {
        private final ModelManifest manifest;
        private final int clients;
        private final List<SigningKey> keys = new ArrayList<>();
        private final List<UpdateHeader> headers = new ArrayList<>();
        private final List<SignatureValue> signatures = new ArrayList<>();
        private final TrustStore trust;
        private final RoundContext round;
        private final PayloadDigest base;
        private final SignatureScheme scheme;

        private Fixture(ModelManifest manifest, int clients, SignatureScheme scheme) throws Exception {
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

        /** Verifies every update on {@code threads} threads and folds it into {@code strategy}'s aggregate. */
        public Result verifyAll(int threads, String strategy) throws Exception {
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

        VerifiedUpdate receive(UpdateVerifier verifier, int client) throws RefusedException {
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
