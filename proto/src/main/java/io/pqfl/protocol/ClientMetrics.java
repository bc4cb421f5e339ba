package io.pqfl.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The one set of rules for the named metrics and losses a client reports: with an update ({@code LocalMetrics},
 * {@link ReportedMetrics}), in a signed evaluation ({@link EvaluationStatement}), and in a trainer's results
 * ({@code io.pqfl.trainer.Metrics}). At most {@value #MAX_ENTRIES} entries, names of 1-64 characters from
 * {@code [a-z0-9_.]}, values finite and within ±{@value #MAX_ABS}. A trainer's results are checked with these rules
 * before anything is sent, and the coordinator checks what it receives with the same rules, so a metric that one
 * side accepts the other accepts too. The magnitude bound keeps an example-weighted sum of values finite: the
 * coordinator's bound on example counts times {@link #MAX_ABS} is far below {@code Double.MAX_VALUE}.
 */
public final class ClientMetrics {
    /** The most metrics one report may carry. */
    public static final int MAX_ENTRIES = 32;
    /** The largest magnitude a reported loss or metric may have. */
    public static final double MAX_ABS = 1e12;

    private static final Pattern NAME = Pattern.compile("[a-z0-9_.]{1,64}");

    private ClientMetrics() {
    }

    /**
     * {@code metrics} checked and copied (unmodifiable, sorted by name: the order the evaluation statement encodes).
     *
     * @throws IllegalArgumentException naming the first entry that breaks a rule
     */
    public static Map<String, Double> check(Map<String, Double> metrics) {
        Objects.requireNonNull(metrics, "metrics");
        if (metrics.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("at most " + MAX_ENTRIES + " metrics, got " + metrics.size());
        }
        Map<String, Double> copy = new TreeMap<>();
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            String name = checkName(e.getKey());
            copy.put(name, checkValue(e.getValue(), "metric '" + name + "'"));
        }
        return Collections.unmodifiableMap(new LinkedHashMap<>(copy));
    }

    /**
     * {@code name} when it is 1-64 characters of {@code [a-z0-9_.]}.
     *
     * @throws IllegalArgumentException quoting (at most 64 characters of) the name, escaped
     */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("metric name " + quote(name) + " is not 1-64 characters of [a-z0-9_.]");
        }
        return name;
    }

    /**
     * {@code v} when it is finite and within ±{@link #MAX_ABS}.
     *
     * @param what names the value in the message ({@code "loss"}, {@code "metric 'mae'"})
     * @throws IllegalArgumentException saying what is wrong with it
     */
    public static double checkValue(Double v, String what) {
        if (v == null || !Double.isFinite(v)) {
            throw new IllegalArgumentException(what + " is " + v + ", not a finite number");
        }
        if (!inBounds(v)) {
            throw new IllegalArgumentException(what + " is " + v + ", beyond ±" + MAX_ABS);
        }
        return v;
    }

    /** Whether {@code v} is a value these rules accept: finite and within ±{@link #MAX_ABS}. */
    public static boolean inBounds(double v) {
        return Double.isFinite(v) && Math.abs(v) <= MAX_ABS;
    }

    /** A name for a message: at most 64 characters of it, non-printable characters escaped. */
    private static String quote(String name) {
        if (name == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("'");
        name.codePoints().limit(64).forEach(c -> {
            if (c >= 32 && c < 127) {
                b.appendCodePoint(c);
            } else {
                b.append(String.format("\\u%04x", c));
            }
        });
        return b.append(name.length() > 64 ? "...'" : "'").toString();
    }
}
