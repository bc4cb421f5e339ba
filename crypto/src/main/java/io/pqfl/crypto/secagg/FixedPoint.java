package io.pqfl.crypto.secagg;

/**
 * The fixed-point encoding of an update in the ring of integers modulo 2^64. A client encodes the difference between
 * its trained model and the round's global model, coordinate by coordinate,
 * <pre>
 *   q_i = round(clamp(trained_i - global_i, -clip, clip) * 2^f) * w           (as a signed 64-bit integer)
 * </pre>
 * and appends its weight {@code w} (its example count capped at {@code weightCap}, or 1 for unweighted strategies)
 * as the last word. The coordinator learns only the sum of the clients' vectors; its last word is the total weight
 * {@code W} and coordinate {@code i} of the weighted mean difference is {@code sum_i / (2^f W)}.
 *
 * <p><b>Overflow bound.</b> Every coordinate of the sum is at most {@code n * weightCap * clip * 2^f} in absolute
 * value for {@code n} clients; the sum is exact (read back as a signed 64-bit integer) as long as that is below
 * 2^63. {@link #forBound} picks the largest {@code f} for which {@code maxClients * weightCap * clip * 2^f <= 2^62}
 * (a factor two of margin). The rounding error of a coordinate of the mean is at most {@code 2^-(f+1)}.
 */
public record FixedPoint(double clip, int fractionBits, long weightCap) {
    /** The fewest fraction bits accepted: below this the rounding error (2^-9) would swamp a round's update. */
    public static final int MIN_FRACTION_BITS = 8;
    public static final int MAX_FRACTION_BITS = 40;

    public FixedPoint {
        if (!(clip > 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("the clipping range must be positive and finite, got " + clip);
        }
        if (fractionBits < MIN_FRACTION_BITS || fractionBits > MAX_FRACTION_BITS) {
            throw new IllegalArgumentException("fraction bits " + fractionBits + " outside " + MIN_FRACTION_BITS + ".."
                    + MAX_FRACTION_BITS);
        }
        if (weightCap < 1) {
            throw new IllegalArgumentException("the weight cap must be at least 1");
        }
    }

    /**
     * The encoding with the most fraction bits whose sums over {@code maxClients} clients cannot overflow.
     *
     * @throws IllegalArgumentException when even {@value #MIN_FRACTION_BITS} fraction bits could overflow (a clipping
     *     range, weight cap or client count too large), naming the product
     */
    public static FixedPoint forBound(double clip, long weightCap, int maxClients) {
        double magnitude = clip * (double) weightCap * Math.max(1, maxClients);
        int bits = (int) Math.floor(62 - Math.log(magnitude) / Math.log(2));
        if (bits < MIN_FRACTION_BITS) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "secure aggregation cannot encode %d clients x weight cap %d x clipping range %s in 64 bits with %d "
                            + "fraction bits; lower the weight cap or the clipping range", maxClients, weightCap, clip,
                    MIN_FRACTION_BITS));
        }
        return new FixedPoint(clip, Math.min(bits, MAX_FRACTION_BITS), weightCap);
    }

    /** The weight a client with {@code examples} examples uses: capped at {@link #weightCap}, at least 1. */
    public long weightOf(long examples) {
        return Math.max(1, Math.min(weightCap, examples));
    }

    /** The client's vector: its weighted, clipped, scaled difference from {@code global}, then its weight. */
    public long[] encode(float[][] trained, float[][] global, long weight) {
        if (weight < 1 || weight > weightCap) {
            throw new IllegalArgumentException("weight " + weight + " outside 1.." + weightCap);
        }
        int n = 0;
        for (float[] t : trained) {
            n += t.length;
        }
        long[] out = new long[n + 1];
        double scale = Math.scalb(1.0, fractionBits);
        int k = 0;
        for (int t = 0; t < trained.length; t++) {
            float[] a = trained[t];
            float[] g = global[t];
            if (a.length != g.length) {
                throw new IllegalArgumentException("tensor " + t + " has " + a.length + " values, the global model's " + g.length);
            }
            for (int i = 0; i < a.length; i++) {
                double d = (double) a[i] - g[i];
                if (Double.isNaN(d)) {
                    throw new IllegalArgumentException("the update is not finite (tensor " + t + ")");
                }
                d = Math.max(-clip, Math.min(clip, d));
                out[k++] = Math.round(d * scale) * weight;
            }
        }
        out[n] = weight;
        return out;
    }

    /** How many coordinates of {@code trained} differ from {@code global} by more than the clipping range. */
    public int clippedCount(float[][] trained, float[][] global) {
        int c = 0;
        for (int t = 0; t < trained.length; t++) {
            for (int i = 0; i < trained[t].length; i++) {
                if (Math.abs((double) trained[t][i] - global[t][i]) > clip) {
                    c++;
                }
            }
        }
        return c;
    }

    /**
     * The weighted mean difference from a sum of vectors (unmasked), in {@code global}'s shape.
     *
     * @throws IllegalArgumentException when the total weight is not positive (no clients, or a corrupt sum)
     */
    public float[][] decodeMean(long[] sum, float[][] global) {
        long total = sum[sum.length - 1];
        if (total < 1) {
            throw new IllegalArgumentException("the aggregate's total weight is " + total + ": not the sum of clients' vectors");
        }
        double scale = Math.scalb(1.0, -fractionBits) / total;
        float[][] out = new float[global.length][];
        int k = 0;
        for (int t = 0; t < global.length; t++) {
            out[t] = new float[global[t].length];
            for (int i = 0; i < out[t].length; i++) {
                out[t][i] = (float) (sum[k++] * scale);
            }
        }
        if (k != sum.length - 1) {
            throw new IllegalArgumentException("the aggregate has " + (sum.length - 1) + " coordinates, the model " + k);
        }
        return out;
    }
}
