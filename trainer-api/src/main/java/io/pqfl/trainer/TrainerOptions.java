package io.pqfl.trainer;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a {@link TrainerFactory} is asked to build: string options ({@code --trainer-option KEY=VALUE}), the client's
 * seed and its device ({@code auto}, {@code cpu} or {@code gpu}; a trainer without an accelerator ignores it).
 * Helpers read typed values and fail with a {@link TrainerException} that names the option.
 */
public record TrainerOptions(Map<String, String> values, long seed, String device) {
    public TrainerOptions {
        values = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(values, "values")));
        Objects.requireNonNull(device, "device");
    }

    /** Options with seed 1 and device {@code auto}. */
    public static TrainerOptions of(Map<String, String> values) {
        return new TrainerOptions(values, 1, "auto");
    }

    /** These options with {@code key} set to {@code value} (replacing any value it had). */
    public TrainerOptions with(String key, String value) {
        Map<String, String> v = new TreeMap<>(values);
        v.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new TrainerOptions(v, seed, device);
    }

    /** These options with every entry of {@code defaults} whose key is not set yet. */
    public TrainerOptions withDefaults(Map<String, String> defaults) {
        Map<String, String> v = new TreeMap<>(defaults);
        v.putAll(values);
        return new TrainerOptions(v, seed, device);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The value of {@code key}, or {@code fallback} when it is not set. */
    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    /** The value of {@code key}; a {@link TrainerException} when it is not set. */
    public String require(String key) throws TrainerException {
        String v = values.get(key);
        if (v == null) {
            throw new TrainerException("missing trainer option '" + key + "' (give --trainer-option " + key + "=...)");
        }
        return v;
    }

    public int getInt(String key, int fallback) throws TrainerException {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new TrainerException("trainer option '" + key + "' must be an integer, got '" + v + "'", e);
        }
    }

    /** A finite number. */
    public double getDouble(String key, double fallback) throws TrainerException {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        double d;
        try {
            d = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new TrainerException("trainer option '" + key + "' must be a number, got '" + v + "'", e);
        }
        if (!Double.isFinite(d)) {
            throw new TrainerException("trainer option '" + key + "' must be a finite number, got '" + v + "'");
        }
        return d;
    }

    /** A path, or {@code fallback} (which may be null) when the option is not set. Existence is not checked. */
    public Path getPath(String key, Path fallback) throws TrainerException {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Path.of(v);
        } catch (InvalidPathException e) {
            throw new TrainerException("trainer option '" + key + "' is not a path: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses options outside {@code known}, so a misspelt option is an error rather than silently ignored.
     *
     * @throws TrainerException naming the first unknown option and listing the known ones
     */
    public void rejectUnknown(Set<String> known) throws TrainerException {
        for (String key : values.keySet()) {
            if (!known.contains(key)) {
                throw new TrainerException("unknown trainer option '" + key + "'; known options: "
                        + String.join(", ", new TreeSet<>(known)));
            }
        }
    }
}
