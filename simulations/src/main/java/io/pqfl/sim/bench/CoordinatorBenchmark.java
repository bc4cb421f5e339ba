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
 * statement, the signature check, the strategy's fold — measured in signed updates per second and MB/s, beside
 * SHA-512 alone over the same bytes delivered the same way, and the heap used while a strategy aggregates them:
 * FedAvg streams, FedMedian buffers. The update values are random (what is measured does not depend on them);
 * every update is really signed and really verified.
 *
 * <p>The update bytes are generated once, before anything is timed, and kept off the heap (so the heap figure is
 * the coordinator's, not the fixture's); each chunk reaches the receiver as a read-only view, as gRPC hands
 * {@code ByteString.asReadOnlyByteBuffer()} to the upload. Large models reuse a few distinct payloads (each
 * client still signs its own statement over its payload's digest).
 */
public final class CoordinatorBenchmark {
    private static final int CHUNK = 1 << 20;
    /** Off-heap bytes of distinct payloads a fixture generates at most; clients beyond that share payloads. */
    private static final long PAYLOAD_POOL_BYTES = 128L << 20;

    private CoordinatorBenchmark() {
    }

    /** Signed updates verified and aggregated per second, their throughput, and the peak heap seen meanwhile. */
    public record Result(double perSecond, double mbPerSecond, long peakHeapMib) {
    }

    /**
     * Medians over paired runs: verify-and-aggregate, then SHA-512 alone over the same bytes on as many threads.
     *
     * @param ratio the median of each pair's verify-and-aggregate MB/s over its SHA-512 MB/s
     */
    public record Comparison(int runs, double perSecond, double mbPerSecond, double sha512MbPerSecond, double ratio,
                             long peakHeapMib) {
    }

    /**
     * Where one update's time goes on one thread, in microseconds per update (medians over runs): the header check
     * (key lookup, round and scheme), receiving the bytes (digest and decode in one pass), the signature check over the
     * statement, the strategy's fold; and SHA-512 alone over the same bytes. {@link #ceiling} is the ratio the upload
     * path could reach if decoding cost nothing: what the signature and the fold leave.
     *
     * @param ratio the upload path's speed over SHA-512's with the two timed update by update, each right after the
     *     other (the median over runs of SHA-512's time over the path's): the per-core ratio, measured so that a
     *     machine that slows down for a while slows both sides alike
     */
    public record Breakdown(double headerMicros, double receiveMicros, double signatureMicros, double foldMicros,
                            double sha512Micros, double ratio) {
        public double ceiling() {
            return sha512Micros / (sha512Micros + headerMicros + signatureMicros + foldMicros);
        }

        /** What receiving costs beyond the digest it must compute: decoding into floats and the finiteness check. */
        public double decodeMicros() {
            return receiveMicros - sha512Micros;
        }
    }

    /** A round of {@code clients} signed updates of {@code manifest}, ready to be verified again and again. */
    public static Fixture fixture(ModelManifest manifest, int clients, SignatureScheme scheme) throws Exception {
        return new Fixture(manifest, clients, scheme);
    }

    /** The median of {@code values} (the mean of the middle two for an even count). */
    static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Clients, their keys and signed statements, and the update bytes they send. */
    public static final class Fixture {
        private final ModelManifest manifest;
        private final int clients;
        private final List<SigningKey> keys = new ArrayList<>();
        private final List<UpdateHeader> headers = new ArrayList<>();
        private final List<SignatureValue> signatures = new ArrayList<>();
        private final List<ByteBuffer> payloads = new ArrayList<>();
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
            long distinct = Math.max(1, Math.min(clients, PAYLOAD_POOL_BYTES / Math.max(1, manifest.totalBytes())));
            for (int i = 0; i < distinct; i++) {
                payloads.add(generate(i));
            }
            RoundNonce nonce = RoundNonce.random(new SecureRandom());
            List<ClientId> ids = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                SigningKey key = Keys.generate(scheme);
                ClientId id = new ClientId("client-" + i);
                trust.add(id, key.verifyingKey());
                ids.add(id);
                keys.add(key);
                UpdateHeader header = new UpdateHeader("bench", 1, nonce, id, key.keyId(), scheme, base, manifest, 100,
                        manifest.totalBytes());
                headers.add(header);
                UpdateStatement st = header.statement(sha512(i));
                signatures.add(Signer.create(key).sign(st.encode()));
            }
            this.round = new RoundContext("bench", 1, nonce, base, manifest, Set.copyOf(ids));
        }

        /** Pseudo-random float32 little-endian wire bytes, off the heap. */
        private ByteBuffer generate(int seed) {
            SplittableRandom random = new SplittableRandom(seed);
            ByteBuffer all = ByteBuffer.allocateDirect(Math.toIntExact(manifest.totalBytes())).order(ByteOrder.LITTLE_ENDIAN);
            while (all.hasRemaining()) {
                all.putFloat((float) (random.nextDouble() - 0.5));
            }
            return all.flip().asReadOnlyBuffer();
        }

        /** Client i's wire bytes in 1 MiB read-only chunks (views, no copy). */
        void forEachChunk(int client, java.util.function.Consumer<ByteBuffer> sink) {
            ByteBuffer payload = payloads.get(client % payloads.size());
            for (int at = 0; at < payload.limit(); at += CHUNK) {
                sink.accept(payload.duplicate().limit(Math.min(payload.limit(), at + CHUNK)).position(at).slice());
            }
        }

        /** SHA-512 over what client i sends: the payload digest that the protocol defines, and nothing else. */
        PayloadDigest sha512(int client) {
            PayloadHasher h = new PayloadHasher().update(manifest.encode());
            forEachChunk(client, h::update);
            return h.finish();
        }

        /**
         * {@code runs} pairs of timed runs on {@code threads} threads, after one untimed pair to warm up (which also
         * measures the peak heap): the upload path with {@code strategy}, then SHA-512 alone over the same chunks.
         */
        public Comparison compare(int runs, int threads, String strategy) throws Exception {
            if (runs < 1) {
                throw new IllegalArgumentException("runs must be >= 1, got " + runs);
            }
            long peak = verifyAll(threads, strategy, true).peakHeapMib();
            digestAll(threads);
            double[] perSecond = new double[runs];
            double[] mb = new double[runs];
            double[] sha = new double[runs];
            double[] ratio = new double[runs];
            for (int r = 0; r < runs; r++) {
                Result v = verifyAll(threads, strategy, false);
                perSecond[r] = v.perSecond();
                mb[r] = v.mbPerSecond();
                sha[r] = digestAll(threads);
                ratio[r] = mb[r] / sha[r];
            }
            return new Comparison(runs, median(perSecond), median(mb), median(sha), median(ratio), peak);
        }

        /**
         * The upload path step by step on this thread, every update once per run, after one run to warm up, with
         * SHA-512 alone over each update's bytes timed beside it: medians over {@code runs}.
         */
        public Breakdown breakdown(int runs, String strategy) throws Exception {
            UpdateVerifier verifier = new UpdateVerifier(trust, Set.of(scheme), Long.MAX_VALUE);
            double[][] perRun = new double[6][runs];
            for (int r = -1; r < runs; r++) {
                long[] nanos = new long[5];
                RoundAggregator aggregator = Strategies.create(strategy, Map.of()).begin(1, ModelWeights.zeros(manifest));
                for (int i = 0; i < clients; i++) {
                    long t0 = System.nanoTime();
                    var key = verifier.checkHeader(headers.get(i), round);
                    long t1 = System.nanoTime();
                    WeightsReceiver receiver = bytesOf(i);
                    long t2 = System.nanoTime();
                    VerifiedUpdate u = verifier.verify(headers.get(i), key, receiver, signatures.get(i));
                    long t3 = System.nanoTime();
                    aggregator.accept(u);
                    long t4 = System.nanoTime();
                    sha512(i);
                    long t5 = System.nanoTime();
                    nanos[0] += t1 - t0;
                    nanos[1] += t2 - t1;
                    nanos[2] += t3 - t2;
                    nanos[3] += t4 - t3;
                    nanos[4] += t5 - t4;
                }
                aggregator.finish();
                for (int k = 0; r >= 0 && k < 5; k++) {
                    perRun[k][r] = nanos[k] / 1e3 / clients;
                }
                if (r >= 0) {
                    perRun[5][r] = (double) nanos[4] / (nanos[0] + nanos[1] + nanos[2] + nanos[3]);
                }
            }
            return new Breakdown(median(perRun[0]), median(perRun[1]), median(perRun[2]), median(perRun[3]),
                    median(perRun[4]), median(perRun[5]));
        }

        /** SHA-512 over every client's bytes (manifest encoding, then the chunks) on {@code threads} threads, in MB/s. */
        public double digestAll(int threads) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            long start = System.nanoTime();
            List<Future<PayloadDigest>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int client = i;
                futures.add(pool.submit(() -> sha512(client)));
            }
            for (Future<PayloadDigest> f : futures) {
                f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            return clients * manifest.totalBytes() / 1e6 / seconds;
        }

        /**
         * Verifies every update on {@code threads} threads and folds it into {@code strategy}'s aggregate, sampling
         * the heap after a full collection and after each update.
         */
        public Result verifyAll(int threads, String strategy) throws Exception {
            return verifyAll(threads, strategy, true);
        }

        /**
         * Without {@code sampleHeap} nothing but the upload path runs: no full collection first (it would shrink the
         * heap, and the run would then time the operating system handing the heap back, page by page, which a
         * coordinator that has run a round no longer pays) and no heap sampling per update.
         */
        private Result verifyAll(int threads, String strategy, boolean sampleHeap) throws Exception {
            UpdateVerifier verifier = new UpdateVerifier(trust, Set.of(scheme), Long.MAX_VALUE);
            RoundAggregator aggregator = Strategies.create(strategy, Map.of()).begin(1, ModelWeights.zeros(manifest));
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            if (sampleHeap) {
                System.gc();
            }
            AtomicLong peak = new AtomicLong(sampleHeap ? memory.getHeapMemoryUsage().getUsed() : 0);
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
                    if (sampleHeap) {
                        peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            aggregator.finish();
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            if (sampleHeap) {
                peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
            }
            return new Result(clients / seconds, clients * manifest.totalBytes() / 1e6 / seconds, peak.get() >> 20);
        }

        VerifiedUpdate receive(UpdateVerifier verifier, int client) throws RefusedException {
            UpdateHeader header = headers.get(client);
            var key = verifier.checkHeader(header, round);
            return verifier.verify(header, key, bytesOf(client), signatures.get(client));
        }

        /** Client {@code client}'s update bytes received as the upload path receives them: digested and decoded. */
        private WeightsReceiver bytesOf(int client) {
            WeightsReceiver receiver = WeightsReceiver.reserved(manifest); // as the coordinator's Upload receives
            forEachChunk(client, c -> {
                try {
                    receiver.accept(c);
                } catch (WeightsReceiver.OverflowException e) {
                    throw new IllegalStateException(e);
                }
            });
            return receiver;
        }
    }
}
