package io.pqfl.sim.load;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import java.util.Map;
import java.util.Objects;

/**
 * A trainer that does not train: each fit returns the global model shifted by a fixed {@code delta} in every weight,
 * claiming {@value #EXAMPLES} examples. Load tests use it so that every client sends a real, full-size, signed update
 * whose effect on the aggregate is known in advance (the example-weighted mean of the deltas), without spending the
 * machine on training.
 */
public final class SyntheticTrainer implements Trainer {
    /** The example count every update claims. */
    public static final long EXAMPLES = 100;

    private final ModelManifest manifest;
    private final float delta;

    public SyntheticTrainer(ModelManifest manifest, float delta) {
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.delta = delta;
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public FitResult fit(ModelWeights global, TrainContext context) {
        return FitResult.of(shift(global, delta), EXAMPLES);
    }

    @Override
    public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
        return new EvaluateResult(0, 0, Map.of());
    }

    /** {@code global} with {@code delta} added to every weight (a copy). */
    public static ModelWeights shift(ModelWeights global, float delta) {
        ModelWeights w = global.copy();
        for (int t = 0; t < w.tensorCount(); t++) {
            float[] v = w.tensor(t);
            for (int j = 0; j < v.length; j++) {
                v[j] += delta;
            }
        }
        return w;
    }
}
