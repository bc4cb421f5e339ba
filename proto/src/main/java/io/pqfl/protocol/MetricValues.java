package io.pqfl.protocol;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The rules for named metrics a client reports (with an update, or in a signed evaluation): names match
 * {@code [a-z0-9_.]{1,64}}, at most {@value #MAX_ENTRIES} of them, values finite and within
 * ±{@value #MAX_ABS}. The bound keeps an example-weighted sum of them finite: the coordinator's bound on example
 * counts times this bound is far below {@code Double.MAX_VALUE}.
 */
public final class MetricValues {
    public static final int MAX_ENTRIES = 32;
    /** The largest magnitude a loss or metric may have. */
    public static final double MAX_ABS = 1e12;
    private static final Pattern NAME = Pattern.compile("[a-z0-9_.]{1,64}");

    private MetricValues() {
    }

    /**
     * A validated copy of {@code metrics}, sorted by name (the order the evaluation statement encodes).
     *
     * @throws IllegalArgumentException naming the first offending entry
     */
    public static Map<String, Double> check(Map<String, Double> metrics) {
        Objects.requireNonNull(metrics, "metrics");
        if (metrics.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(metrics.size() + " metrics, at most " + MAX_ENTRIES + " allowed");
        }
        TreeMap<String, Double> sorted = new TreeMap<>();
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            checkName(e.getKey());
            sorted.put(e.getKey(), checkValue(e.getValue(), "metric " + e.getKey()));
        }
        return java.util.Collections.unmodifiableMap(sorted);
    }

    public static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("metric name must match [a-z0-9_.]{1,64}, got '"
                    + (name == null ? "null" : name.length() > 64 ? name.substring(0, 64) + "…" : name) + "'");
        }
    }

    /** {@code v} when finite and within ±{@link #MAX_ABS}. */
    public static double checkValue(Double v, String what) {
        if (v == null || !Double.isFinite(v) || Math.abs(v) > MAX_ABS) {
            throw new IllegalArgumentException(what + " must be finite and within ±" + MAX_ABS + ", got " + v);
        }
        return v;
    }
}
