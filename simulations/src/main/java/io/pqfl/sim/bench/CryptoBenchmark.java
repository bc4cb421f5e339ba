package io.pqfl.sim.bench;

import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadHasher;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.internal.BcAlgorithms;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Measures key generation, signing and verification per scheme, and digest throughput per payload size.
 * Each operation runs until it has {@code maxSamples} samples or has spent {@code budget}, with at least
 * {@code minSamples}; results are medians and 99th percentiles of the individual samples.
 */
public final class CryptoBenchmark {
    /** The message signed: the size of a pqfl update statement. */
    static final int STATEMENT_BYTES = 300;

    public record Settings(int minSamples, int maxSamples, Duration budget, int warmup) {
        public Settings {
            if (minSamples < 1 || maxSamples < minSamples || warmup < 0) {
                throw new IllegalArgumentException("need 1 <= minSamples <= maxSamples and warmup >= 0");
            }
            Objects.requireNonNull(budget, "budget");
        }
    }

    /** Latency of one operation in milliseconds. */
    public record Latency(double medianMs, double p99Ms, int samples) {
    }

    public record SchemeResult(String scheme, String preStandardName, int nistLevel, int publicKeyBytes,
                               int signatureBytes, Latency keygen, Latency sign, Latency verify) {
    }

    public record DigestResult(String algorithm, String implementation, long payloadBytes, double medianMs,
                               double throughputMBps, int samples) {
    }

    private final Settings settings;

    public CryptoBenchmark(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public SchemeResult measure(SignatureScheme scheme) {
        byte[] message = new byte[STATEMENT_BYTES];
        new Random(1).nextBytes(message);
        Latency keygen = time(i -> Keys.generate(scheme));
        SigningKey key = Keys.generate(scheme);
        Signer signer = Signer.create(key);
        Latency sign = time(i -> signer.sign(message));
        SignatureValue signature = signer.sign(message);
        Verifier verifier = Verifier.create(key.verifyingKey());
        Latency verify = time(i -> {
            try {
                verifier.verify(message, signature);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("benchmark signature did not verify", e);
            }
        });
        return new SchemeResult(scheme.displayName(), scheme.preStandardName(), scheme.nistLevel(),
                key.verifyingKey().raw().length, signature.length(), keygen, sign, verify);
    }

    /** The digests compared for the payload hash; the first is the one pqfl uses. */
    public List<DigestResult> measureDigests(long payloadBytes) {
        byte[] chunk = new byte[(int) Math.min(payloadBytes, 1 << 20)];
        new Random(2).nextBytes(chunk);
        Provider bc = BcAlgorithms.bouncyCastle();
        List<DigestResult> out = new ArrayList<>();
        out.add(digest("SHA-512", "pqfl PayloadHasher (JDK)", payloadBytes, chunk, () -> {
            PayloadHasher h = new PayloadHasher();
            return new Feed(h::update, h::finish);
        }));
        out.add(digest("SHA-256", "JDK", payloadBytes, chunk, () -> jdk("SHA-256", null)));
        out.add(digest("SHA-512", "Bouncy Castle", payloadBytes, chunk, () -> jdk("SHA-512", bc)));
        out.add(digest("SHA3-256", "Bouncy Castle", payloadBytes, chunk, () -> jdk("SHA3-256", bc)));
        out.add(digest("SHA3-512", "JDK", payloadBytes, chunk, () -> jdk("SHA3-512", null)));
        return out;
    }

    private record Feed(Consumer<byte[]> update, Runnable finish) {
    }

    private static Feed jdk(String algorithm, Provider provider) {
        try {
            MessageDigest md = provider == null ? MessageDigest.getInstance(algorithm) : MessageDigest.getInstance(algorithm, provider);
            return new Feed(md::update, md::digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(algorithm + " unavailable", e);
        }
    }

    private DigestResult digest(String algorithm, String implementation, long payloadBytes, byte[] chunk,
                                java.util.function.Supplier<Feed> factory) {
        Latency latency = time(i -> {
            Feed feed = factory.get();
            long left = payloadBytes;
            while (left > 0) {
                int n = (int) Math.min(left, chunk.length);
                if (n == chunk.length) {
                    feed.update().accept(chunk);
                } else {
                    feed.update().accept(Arrays.copyOf(chunk, n));
                }
                left -= n;
            }
            feed.finish().run();
        });
        double mbps = payloadBytes / 1e6 / (latency.medianMs() / 1e3);
        return new DigestResult(algorithm, implementation, payloadBytes, latency.medianMs(), mbps, latency.samples());
    }

    private Latency time(java.util.function.IntConsumer op) {
        // Warm up for the given count, and for at least a tenth of the budget so the JIT has compiled the hot path.
        long warmupEnd = System.nanoTime() + settings.budget().toNanos() / 10;
        for (int i = 0; i < settings.warmup() || System.nanoTime() < warmupEnd; i++) {
            op.accept(i);
        }
        long deadline = System.nanoTime() + settings.budget().toNanos();
        List<Long> samples = new ArrayList<>();
        while (samples.size() < settings.maxSamples()
                && (samples.size() < settings.minSamples() || System.nanoTime() < deadline)) {
            long start = System.nanoTime();
            op.accept(samples.size());
            samples.add(System.nanoTime() - start);
        }
        return latency(samples);
    }

    static Latency latency(List<Long> nanos) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Latency(percentile(sorted, 50) / 1e6, percentile(sorted, 99) / 1e6, sorted.length);
    }

    /** Nearest-rank percentile; the median of an even count is the mean of the middle two. */
    static double percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        if (p == 50 && sorted.length % 2 == 0) {
            return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2.0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
