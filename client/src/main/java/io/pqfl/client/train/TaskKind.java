package io.pqfl.client.train;

import ai.djl.training.loss.Loss;
import io.pqfl.trainer.Metrics;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the DJL trainer's model predicts, which decides its loss and metrics. Chosen with {@code --task} (or the
 * trainer option {@code task}).
 */
public enum TaskKind {
    /** One output per class: softmax cross-entropy; metric {@code accuracy} (arg-max equals the label). */
    CLASSIFICATION("classification"),
    /** One logit per example: sigmoid binary cross-entropy on 0/1 labels; metric {@code accuracy} at probability 0.5. */
    BINARY("binary"),
    /** One real output per example: mean squared error; metrics {@code mae} and {@code rmse}. */
    REGRESSION("regression"),
    /** One real output per example: mean absolute error (L1) as the loss; metric {@code mae}. */
    REGRESSION_L1("regression-l1");

    private final String id;

    TaskKind(String id) {
        this.id = id;
    }

    /** The name users give: {@code classification}, {@code binary}, {@code regression} or {@code regression-l1}. */
    public String id() {
        return id;
    }

    public static TaskKind parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (TaskKind k : values()) {
            if (k.id.equals(n)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown task '" + name + "': use "
                + String.join(", ", Arrays.stream(values()).map(TaskKind::id).toList()));
    }

    /** Whether the examples carry real-valued targets rather than class labels. */
    public boolean regression() {
        return this == REGRESSION || this == REGRESSION_L1;
    }

    /** The loss DJL minimises: a per-batch mean. */
    Loss loss() {
        return switch (this) {
            case CLASSIFICATION -> Loss.softmaxCrossEntropyLoss();
            case BINARY -> Loss.sigmoidBinaryCrossEntropyLoss();
            // DJL's L2 loss is weighted 1/2 by default; weight 1 makes it the mean squared error.
            case REGRESSION -> Loss.l2Loss("MSELoss", 1);
            case REGRESSION_L1 -> Loss.l1Loss();
        };
    }

    /** The metrics an evaluation reports besides the loss. */
    List<String> metrics() {
        return switch (this) {
            case CLASSIFICATION, BINARY -> List.of(Metrics.ACCURACY);
            case REGRESSION -> List.of(Metrics.MAE, Metrics.RMSE);
            case REGRESSION_L1 -> List.of(Metrics.MAE);
        };
    }
}
