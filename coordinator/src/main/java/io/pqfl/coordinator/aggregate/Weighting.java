package io.pqfl.coordinator.aggregate;

import java.util.Locale;

/**
 * How an averaging strategy weights each update: by the example count the client signed (FedAvg's rule), or
 * equally. Example counts are client claims, bounded by the coordinator's per-update limit; weighting equally
 * takes the claim out of aggregation altogether (strategy parameter {@code weighting=equal}).
 */
public enum Weighting {
    EXAMPLES, EQUAL;

    static Weighting parse(String value) {
        if (value == null) {
            return EXAMPLES;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "examples" -> EXAMPLES;
            case "equal" -> EQUAL;
            default -> throw new IllegalArgumentException("strategy parameter weighting=" + value
                    + " is not one of: examples, equal");
        };
    }

    long weight(long numExamples) {
        return this == EQUAL ? 1 : numExamples;
    }
}
