package io.pqfl.coordinator.evaluate;

import java.util.Map;
import java.util.TreeMap;

/**
 * Example-weighted means of a loss and named metrics, with checked arithmetic: counts add with
 * {@link Math#addExact}, and every value is bounded ({@code ClientMetrics}), so the weighted sums stay finite. A
 * metric's mean is over the sources that reported it (weighted by their examples). Not thread-safe.
 */
public final class WeightedMeans {
    private int sources;
    private long examples;
    private double lossSum;
    private final Map<String, double[]> metricSums = new TreeMap<>(); // name -> {weighted sum, examples}

    /** Adds one source's mean {@code loss} over {@code n} examples and its metrics. */
    public void add(long n, double loss, Map<String, Double> metrics) {
        if (n < 1) {
            throw new IllegalArgumentException("a source has at least one example");
        }
        examples = Math.addExact(examples, n);
        sources++;
        lossSum += loss * n;
        metrics.forEach((name, v) -> {
            double[] sum = metricSums.computeIfAbsent(name, k -> new double[2]);
            sum[0] += v * n;
            sum[1] += n;
        });
    }

    public int sources() {
        return sources;
    }

    public EvaluationSummary summary(long round, EvaluationSummary.Source source) {
        Map<String, Double> means = new TreeMap<>();
        metricSums.forEach((name, sum) -> means.put(name, sum[0] / sum[1]));
        return new EvaluationSummary(round, source, sources, examples, examples == 0 ? Double.NaN : lossSum / examples,
                means);
    }
}
