package io.pqfl.trainer;

import io.pqfl.protocol.ClientMetrics;
import java.util.Map;

/**
 * The names of well-known metrics, and the rules every metric follows. A trainer may report any metric whose name
 * is 1-64 characters of {@code [a-z0-9_.]} (at most 32 per result, finite values within ±1e12); these names are
 * the ones pqfl itself reads — the update's fixed fields, the reports and the simulation's tables. The rules are
 * {@code proto}'s {@link ClientMetrics}, the same class every other check of client-reported metrics uses.
 */
public final class Metrics {
    /** The training loss of a fit (mean over the examples of the last pass, or however the trainer defines it). */
    public static final String LOSS = "loss";
    /** Fraction of examples classified correctly, 0..1. */
    public static final String ACCURACY = "accuracy";
    /** Mean absolute error of a regression. */
    public static final String MAE = "mae";
    /** Root mean squared error of a regression. */
    public static final String RMSE = "rmse";
    /** Loss on the client's held-out examples, measured by a fit after training. */
    public static final String EVAL_LOSS = "eval_loss";
    /** Accuracy on the client's held-out examples, measured by a fit after training. */
    public static final String EVAL_ACCURACY = "eval_accuracy";
    /** How many held-out examples {@link #EVAL_LOSS} and {@link #EVAL_ACCURACY} were measured on. */
    public static final String EVAL_EXAMPLES = "eval_examples";
    /** Wall-clock milliseconds a fit took (the agent measures it when the trainer does not). */
    public static final String TRAIN_MILLIS = "train_millis";

    private Metrics() {
    }

    /**
     * {@code metrics} checked and copied (unmodifiable, sorted by name): the rules the coordinator applies too.
     *
     * @throws IllegalArgumentException naming the first metric that breaks a rule
     */
    public static Map<String, Double> check(Map<String, Double> metrics) {
        return ClientMetrics.check(metrics);
    }
}
