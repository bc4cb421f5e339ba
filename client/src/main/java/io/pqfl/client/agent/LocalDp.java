package io.pqfl.client.agent;

import io.pqfl.protocol.ModelWeights;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Local differential privacy (docs/PRIVACY.md): the client makes its own update private before it leaves the device,
 * whoever receives it. Each round it clips the difference between its trained model and the global model to L2 norm
 * {@code clip} and adds Gaussian noise of std {@code noiseMultiplier * clip} to every coordinate (from a
 * {@link SecureRandom}), so the update it signs is the Gaussian mechanism's output with sensitivity {@code clip}.
 *
 * <p>It counts its own privacy: after {@code R} released updates, Rényi DP of order {@code alpha} is
 * {@code R * alpha / (2 z^2)} (no amplification by sampling: the client's data is in every update it sends), converted
 * to {@code (epsilon, delta)} as {@code min over alpha = 2..256 of R alpha / (2 z^2) + log(1/delta) / (alpha - 1)}, the
 * conversion the coordinator's accountant uses. The noise is much larger than central or distributed DP's for the
 * same epsilon (every client carries all of it), which is the price of trusting nobody.
 */
public final class LocalDp implements ClientAgent.UpdateTransform {
    private final double noiseMultiplier;
    private final double clip;
    private final double delta;
    private final Random random;
    private final AtomicLong released = new AtomicLong();

    public LocalDp(double noiseMultiplier, double clip, double delta) {
        this(noiseMultiplier, clip, delta, new SecureRandom());
    }

    /** Test seam: a seeded source of noise (never outside tests: the noise must be unpredictable). */
    static LocalDp withRandom(double noiseMultiplier, double clip, double delta, Random random) {
        return new LocalDp(noiseMultiplier, clip, delta, random);
    }

    private LocalDp(double noiseMultiplier, double clip, double delta, Random random) {
        if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
            throw new IllegalArgumentException("the local DP noise multiplier must be positive, got " + noiseMultiplier);
        }
        if (!(clip > 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("the local DP clip must be positive, got " + clip);
        }
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
        this.noiseMultiplier = noiseMultiplier;
        this.clip = clip;
        this.delta = delta;
        this.random = Objects.requireNonNull(random, "random");
    }

    @Override
    public ModelWeights apply(long round, ModelWeights global, ModelWeights trained) {
        double norm2 = 0;
        for (int t = 0; t < trained.tensorCount(); t++) {
            float[] a = trained.tensor(t);
            float[] g = global.tensor(t);
            for (int i = 0; i < a.length; i++) {
                double d = (double) a[i] - g[i];
                norm2 += d * d;
            }
        }
        double scale = Math.sqrt(norm2) > clip ? clip / Math.sqrt(norm2) : 1.0;
        double std = noiseMultiplier * clip;
        ModelWeights out = global.copy();
        synchronized (random) {
            for (int t = 0; t < out.tensorCount(); t++) {
                float[] o = out.tensor(t);
                float[] a = trained.tensor(t);
                for (int i = 0; i < o.length; i++) {
                    o[i] = (float) (o[i] + ((double) a[i] - o[i]) * scale + std * random.nextGaussian());
                }
            }
        }
        released.incrementAndGet();
        return out;
    }

    /** Updates released so far. */
    public long released() {
        return released.get();
    }

    /** Epsilon at {@link #delta} after the updates released so far (0 before the first). */
    public double epsilon() {
        return epsilon(released.get(), noiseMultiplier, delta);
    }

    /** Epsilon of {@code rounds} Gaussian-mechanism releases with multiplier {@code z}, at {@code delta}. */
    public static double epsilon(long rounds, double z, double delta) {
        if (rounds == 0) {
            return 0;
        }
        double best = Double.POSITIVE_INFINITY;
        for (int alpha = 2; alpha <= 256; alpha++) {
            best = Math.min(best, rounds * alpha / (2 * z * z) + Math.log(1 / delta) / (alpha - 1));
        }
        return best;
    }

    public double delta() {
        return delta;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "local DP: noise multiplier %s, clip %s, epsilon %.4f at delta %g after %d updates",
                noiseMultiplier, clip, epsilon(), delta, released.get());
    }
}
