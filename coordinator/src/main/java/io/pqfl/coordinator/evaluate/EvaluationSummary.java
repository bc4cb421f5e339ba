package io.pqfl.coordinator.evaluate;

import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * An aggregate of evaluations of one round's model: example-weighted mean loss and metrics over {@code clients}
 * sources and {@code examples} examples. {@code loss} is NaN when nothing was aggregated.
 */
public record EvaluationSummary(long round, Source source, int clients, long examples, double loss,
                                Map<String, Double> metrics) {
    /** Where the evaluations came from. */
    public enum Source {
        /** Sampled clients' signed evaluations of an EVALUATE task. */
        FEDERATED,
        /** The coordinator's {@link CentralEvaluator}. */
        CENTRAL,
        /** The advisory metrics sent with a round's accepted updates (unsigned hints). */
        CLIENT_REPORTS
    }

    public EvaluationSummary {
        Objects.requireNonNull(source, "source");
        metrics = Map.copyOf(metrics);
    }

    public boolean empty() {
        return examples == 0;
    }

    private static String number(double v) {
        return String.format(java.util.Locale.ROOT, "%.6g", v);
    }

    /** One line for logs and the ledger: {@code loss 0.25 over 200 examples from 2 clients; accuracy=0.9}. */
    public String describe() {
        if (empty()) {
            return "no evaluations";
        }
        String m = metrics.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "=" + number(e.getValue())).collect(Collectors.joining(", "));
        return "loss " + number(loss) + " over " + examples + " examples from " + clients + (clients == 1 ? " source" : " sources")
                + (m.isEmpty() ? "" : "; " + m);
    }
}
