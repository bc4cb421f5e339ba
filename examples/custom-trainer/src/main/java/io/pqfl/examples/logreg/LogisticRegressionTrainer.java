package io.pqfl.examples.logreg;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Softmax (multinomial logistic) regression trained by minibatch SGD on plain float arrays: {@code logits = weight
 * · x + bias}, softmax cross-entropy loss. The tensors are named as PyTorch's {@code nn.Linear(features, classes)}
 * names them ({@code weight [classes, features]}, {@code bias [classes]}), so the federated model loads into one
 * with {@code load_state_dict}.
 *
 * <p>From the round's signed {@link TrainingConfig} it uses the local epochs, batch size, learning rate and FedProx's
 * proximal term {@code mu}; the optimiser is always plain SGD, whatever the configuration names, because the
 * problem is convex and SGD is all it needs.
 */
final class LogisticRegressionTrainer implements Trainer {
    private final ModelManifest manifest;
    private final Split train;
    private final Split held;
    private final int features;
    private final int classes;
    private final double l2;

    /** Examples as rows of features and their class indices. */
    record Split(float[][] x, int[] y) {
        int size() {
            return y.length;
        }
    }

    LogisticRegressionTrainer(Split train, Split held, int features, int classes, double l2) {
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training examples");
        }
        this.train = train;
        this.held = held;
        this.features = features;
        this.classes = classes;
        this.l2 = l2;
        this.manifest = manifest(features, classes);
    }

    /** The model of {@code features} inputs and {@code classes} outputs. */
    static ModelManifest manifest(int features, int classes) {
        return new ModelManifest("logreg-" + features + "x" + classes,
                List.of(TensorSpec.of("weight", classes, features), TensorSpec.of("bias", classes)));
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    /** All zeros: the loss is convex, so no symmetry needs breaking, and every seed gives the same start. */
    @Override
    public ModelWeights initialWeights(long seed) {
        return ModelWeights.zeros(manifest);
    }

    @Override
    public FitResult fit(ModelWeights global, TrainContext context) {
        float[] w0 = global.tensor(0);
        float[] b0 = global.tensor(1);
        float[] w = w0.clone();
        float[] b = b0.clone();
        TrainingConfig config = context.config();
        float lr = config.learningRate();
        float mu = config.proximalMu();
        int n = train.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(context.seed());
        float[] gw = new float[w.length];
        float[] gb = new float[classes];
        double[] p = new double[classes];
        double epochLoss = 0;
        long total = (long) config.localEpochs() * n;
        for (int epoch = 0; epoch < config.localEpochs(); epoch++) {
            shuffle(order, random);
            epochLoss = 0;
            for (int start = 0; start < n; start += config.batchSize()) {
                int m = Math.min(config.batchSize(), n - start);
                Arrays.fill(gw, 0);
                Arrays.fill(gb, 0);
                for (int k = start; k < start + m; k++) {
                    float[] x = train.x()[order[k]];
                    int y = train.y()[order[k]];
                    epochLoss += crossEntropy(w, b, x, y, p);
                    // d(cross-entropy)/d(logit c) = p_c - [c == y]
                    for (int c = 0; c < classes; c++) {
                        float err = (float) (p[c] - (c == y ? 1 : 0)) / m;
                        gb[c] += err;
                        for (int j = 0, o = c * features; j < features; j++) {
                            gw[o + j] += err * x[j];
                        }
                    }
                }
                for (int i = 0; i < w.length; i++) {
                    w[i] -= lr * (gw[i] + (float) l2 * w[i] + mu * (w[i] - w0[i]));
                }
                for (int c = 0; c < classes; c++) {
                    b[c] -= lr * (gb[c] + mu * (b[c] - b0[c]));
                }
                context.progress().examplesDone((long) epoch * n + start + m, total);
            }
        }
        ModelWeights trained = ModelWeights.of(manifest, new float[][] {w, b});
        EvaluateResult eval = measure(w, b, held);
        Map<String, Double> metrics = eval.examples() == 0 ? Map.of(Metrics.LOSS, epochLoss / n)
                : Map.of(Metrics.LOSS, epochLoss / n, Metrics.EVAL_LOSS, eval.loss(),
                        Metrics.EVAL_ACCURACY, eval.metric(Metrics.ACCURACY, 0),
                        Metrics.EVAL_EXAMPLES, (double) eval.examples());
        return new FitResult(trained, n, metrics);
    }

    @Override
    public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
        return measure(model.tensor(0), model.tensor(1), held);
    }

    /** Mean cross-entropy and accuracy on {@code data}; loss 0 and no metrics when it is empty. */
    EvaluateResult measure(float[] w, float[] b, Split data) {
        if (data.size() == 0) {
            return new EvaluateResult(0, 0, Map.of());
        }
        double[] p = new double[classes];
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < data.size(); i++) {
            loss += crossEntropy(w, b, data.x()[i], data.y()[i], p);
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            correct += best == data.y()[i] ? 1 : 0;
        }
        return new EvaluateResult(loss / data.size(), data.size(),
                Map.of(Metrics.ACCURACY, (double) correct / data.size()));
    }

    /** Fills {@code p} with the class probabilities of {@code x} and returns the cross-entropy of label {@code y}. */
    private double crossEntropy(float[] w, float[] b, float[] x, int y, double[] p) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            double z = b[c];
            for (int j = 0, o = c * features; j < features; j++) {
                z += w[o + j] * x[j];
            }
            p[c] = z;
            max = Math.max(max, z);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            p[c] = Math.exp(p[c] - max); // shifted by the largest logit, so exp cannot overflow
            sum += p[c];
        }
        for (int c = 0; c < classes; c++) {
            p[c] /= sum;
        }
        return -Math.log(Math.max(p[y], 1e-12));
    }

    private static void shuffle(int[] a, Random random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
