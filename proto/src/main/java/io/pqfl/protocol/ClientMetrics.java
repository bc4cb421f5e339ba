package io.pqfl.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The rules for the named metrics a client reports (training loss, held-out accuracy, ...): at most
 * {@link #MAX_ENTRIES} entries, names of 1-64 characters from {@code [a-z0-9_.]}, finite values. A trainer's
 * results are checked with these rules before anything is sent, and the coordinator checks what it receives with
 * the same rules, so a metric that one side accepts the other accepts too.
 */
public final class ClientMetrics {
    /** The most metrics one report may carry. */
    public static final int MAX_ENTRIES = 32;

    private static final Pattern NAME = Pattern.compile("[a-z0-9_.]{1,64}");

    private ClientMetrics() {
    }

    /**
     * {@code metrics} checked and copied (unmodifiable, sorted by name).
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
            String name = e.getKey();
            if (name == null || !NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("metric name " + quote(name) + " is not 1-64 characters of [a-z0-9_.]");
            }
            Double value = e.getValue();
            if (value == null || !Double.isFinite(value)) {
                throw new IllegalArgumentException("metric '" + name + "' is " + value + ", not a finite number");
            }
            copy.put(name, value);
        }
        return Collections.unmodifiableMap(new LinkedHashMap<>(copy));
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
