package io.pqfl.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The trainer of the {@code io.pqfl.trainer} package documentation, copied as written: it trains, its loss falls, and
 * two clients' models averaged round after round (FedAvg, as the coordinator would) find the true coefficients.
 */
class TrainerExampleTest {
    /** As in package-info.java. */
    public static final class LinearTrainer implements Trainer {
        private final ModelManifest manifest;
        private final float[][] x;   // this client's rows
        private final float[] y;

        public LinearTrainer(float[][] x, float[] y) {
            this.x = x;
            this.y = y;
            this.manifest = new ModelManifest("linear", List.of(TensorSpec.of("w", x[0].length), TensorSpec.of("b", 1)));
        }

        public ModelManifest manifest() {
            return manifest;
        }

        public FitResult fit(ModelWeights global, TrainContext context) {
            float[] w = global.tensor(0).clone();          // the global model is the caller's: copy it
            float[] b = global.tensor(1).clone();
            float lr = context.config().learningRate();
            for (int epoch = 0; epoch < context.config().localEpochs(); epoch++) {
                for (int i = 0; i < y.length; i++) {
                    float err = predict(w, b, x[i]) - y[i];
                    for (int j = 0; j < w.length; j++) {
                        w[j] -= lr * err * x[i][j];
                    }
                    b[0] -= lr * err;
                }
            }
            return new FitResult(ModelWeights.of(manifest, new float[][] {w, b}), y.length,
                    Map.of(Metrics.LOSS, meanSquaredError(w, b)));
        }

        public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
            return new EvaluateResult(meanSquaredError(model.tensor(0), model.tensor(1)), y.length, Map.of());
        }

        private double meanSquaredError(float[] w, float[] b) {
            double sum = 0;
            for (int i = 0; i < y.length; i++) {
                double err = predict(w, b, x[i]) - y[i];
                sum += err * err;
            }
            return sum / y.length;
        }

        private static float predict(float[] w, float[] b, float[] row) {
            float s = b[0];
            for (int j = 0; j < w.length; j++) {
                s += w[j] * row[j];
            }
            return s;
        }
    }

    /** Rows of y = 2 x0 - 3 x1 + 1 plus a little noise. */
    private static LinearTrainer client(long seed) {
        Random r = new Random(seed);
        float[][] x = new float[200][2];
        float[] y = new float[200];
        for (int i = 0; i < y.length; i++) {
            x[i][0] = (float) r.nextGaussian();
            x[i][1] = (float) r.nextGaussian();
            y[i] = 2 * x[i][0] - 3 * x[i][1] + 1 + (float) (0.01 * r.nextGaussian());
        }
        return new LinearTrainer(x, y);
    }

    @Test
    void theDocumentedTrainer_learnsTheCoefficients_underFedAvg() {
        List<LinearTrainer> clients = List.of(client(1), client(2));
        ModelWeights global = ModelWeights.zeros(clients.get(0).manifest());
        TrainContext context = TrainContext.of(1, new TrainingConfig(1, 1, 0.01f, 0f, "sgd"), 7);
        double before = clients.get(0).evaluate(global, context).loss();
        for (int round = 0; round < 5; round++) {
            float[][] sum = {new float[2], new float[1]};
            for (LinearTrainer c : clients) {
                FitResult fit = c.fit(global, context);
                assertThat(fit.examples()).isEqualTo(200);
                for (int t = 0; t < 2; t++) {
                    for (int j = 0; j < sum[t].length; j++) {
                        sum[t][j] += fit.weights().tensor(t)[j] / clients.size();
                    }
                }
            }
            global = ModelWeights.of(global.manifest(), sum);
        }
        assertThat(clients.get(0).evaluate(global, context).loss()).isLessThan(before / 1000);
        assertThat(global.tensor(0)[0]).isCloseTo(2f, within(0.05f));
        assertThat(global.tensor(0)[1]).isCloseTo(-3f, within(0.05f));
        assertThat(global.tensor(1)[0]).isCloseTo(1f, within(0.05f));
    }
}
