package io.pqfl.coordinator.privacy;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one round of central differential privacy spent and released: its sampling rate, the updates averaged and
 * how many were clipped, the clip norm used and the one the next round uses (the same with fixed clipping), the
 * noise multiplier it was accounted at, and the epsilon of the round alone and of all rounds so far at
 * {@code delta}. The coordinator logs it and ledgers it ({@code PRIVACY_SPENT}); {@link #describe()} and
 * {@link #parse} are that ledger form, exact to the last bit of every number.
 */
public record PrivacySpent(long round, double rate, int updates, int clipped, double clip, double nextClip,
                           double noiseMultiplier, double roundEpsilon, double totalEpsilon, double delta) {
    public PrivacySpent {
        if (round < 1 || !(rate >= 0 && rate <= 1) || updates < 0 || clipped < 0 || clipped > updates
                || !(clip >= 0) || !(nextClip >= 0) || !(noiseMultiplier >= 0) || !(roundEpsilon >= 0)
                || !(totalEpsilon >= 0) || !(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("not a round's DP spending: round " + round + ", rate " + rate + ", "
                    + clipped + "/" + updates + " clipped, clip " + clip + " then " + nextClip + ", noise multiplier "
                    + noiseMultiplier + ", epsilon " + roundEpsilon + " (total " + totalEpsilon + ") at delta " + delta);
        }
    }

    /**
     * The ledger and log form: {@code dp_epsilon=... dp_round_epsilon=... dp_delta=... dp_rate=... dp_clipped=c/n
     * dp_clip=... dp_next_clip=... dp_noise_multiplier=...}, each number as {@link Double#toString} writes it.
     */
    public String describe() {
        return "dp_epsilon=" + totalEpsilon + " dp_round_epsilon=" + roundEpsilon + " dp_delta=" + delta + " dp_rate=" + rate
                + " dp_clipped=" + clipped + "/" + updates + " dp_clip=" + clip + " dp_next_clip=" + nextClip
                + " dp_noise_multiplier=" + noiseMultiplier;
    }

    /** The short form for people: epsilon and clip norm rounded. */
    public String summary() {
        return String.format(Locale.ROOT, "epsilon %.4f (round %.4f) at delta %g, rate %.4g, %d/%d clipped to %.4g%s",
                totalEpsilon, roundEpsilon, delta, rate, clipped, updates, clip,
                nextClip == clip ? "" : String.format(Locale.ROOT, ", next clip %.4g", nextClip));
    }

    /**
     * Reads {@link #describe()}'s form back, for round {@code round}.
     *
     * @throws IllegalArgumentException when a field is missing, repeated or not a number, or the values are not a
     *     round's spending
     */
    public static PrivacySpent parse(long round, String detail) {
        if (detail == null) {
            throw new IllegalArgumentException("no DP spending recorded (empty detail)");
        }
        Map<String, String> fields = new HashMap<>();
        for (String token : detail.trim().split(" +")) {
            int eq = token.indexOf('=');
            if (eq <= 0 || fields.put(token.substring(0, eq), token.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("malformed DP spending '" + detail + "' at '" + token + "'");
            }
        }
        String clippedOf = field(fields, "dp_clipped", detail);
        int slash = clippedOf.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("malformed DP spending '" + detail + "': dp_clipped is not c/n");
        }
        try {
            PrivacySpent s = new PrivacySpent(round, number(fields, "dp_rate", detail),
                    Integer.parseInt(clippedOf.substring(slash + 1)), Integer.parseInt(clippedOf.substring(0, slash)),
                    number(fields, "dp_clip", detail), number(fields, "dp_next_clip", detail),
                    number(fields, "dp_noise_multiplier", detail), number(fields, "dp_round_epsilon", detail),
                    number(fields, "dp_epsilon", detail), number(fields, "dp_delta", detail));
            if (fields.size() != 8) {
                throw new IllegalArgumentException("malformed DP spending '" + detail + "': unknown fields");
            }
            return s;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed DP spending '" + detail + "': " + e.getMessage(), e);
        }
    }

    private static String field(Map<String, String> fields, String name, String detail) {
        String v = fields.get(name);
        if (v == null) {
            throw new IllegalArgumentException("malformed DP spending '" + detail + "': no " + name);
        }
        return v;
    }

    private static double number(Map<String, String> fields, String name, String detail) {
        return Double.parseDouble(field(fields, name, detail));
    }
}
