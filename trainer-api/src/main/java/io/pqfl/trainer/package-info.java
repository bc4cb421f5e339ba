/**
 * The trainer SPI: the one part a user writes to federate their own model and training loop ({@link
 * io.pqfl.trainer.Trainer}, made by a {@link io.pqfl.trainer.TrainerFactory} found with {@link java.util.ServiceLoader}).
 * The client agent fetches and verifies the signed task and global model, calls the trainer, and signs and uploads
 * what it returns; a trainer never handles a key or an unverified byte.
 *
 * <p>A complete trainer, least-squares regression {@code y = w.x + b} by gradient descent on the client's own rows
 * ({@code TrainerExampleTest} trains it; examples/custom-trainer is a fuller one, with its factory and a CSV reader):
 *
 * <pre>{@code
 * public final class LinearTrainer implements Trainer {
 *     private final ModelManifest manifest;
 *     private final float[][] x;   // this client's rows
 *     private final float[] y;
 *
 *     public LinearTrainer(float[][] x, float[] y) {
 *         this.x = x;
 *         this.y = y;
 *         this.manifest = new ModelManifest("linear", List.of(TensorSpec.of("w", x[0].length), TensorSpec.of("b", 1)));
 *     }
 *
 *     public ModelManifest manifest() {
 *         return manifest;
 *     }
 *
 *     public FitResult fit(ModelWeights global, TrainContext context) {
 *         float[] w = global.tensor(0).clone();          // the global model is the caller's: copy it
 *         float[] b = global.tensor(1).clone();
 *         float lr = context.config().learningRate();
 *         for (int epoch = 0; epoch < context.config().localEpochs(); epoch++) {
 *             for (int i = 0; i < y.length; i++) {
 *                 float err = predict(w, b, x[i]) - y[i];
 *                 for (int j = 0; j < w.length; j++) {
 *                     w[j] -= lr * err * x[i][j];
 *                 }
 *                 b[0] -= lr * err;
 *             }
 *         }
 *         return new FitResult(ModelWeights.of(manifest, new float[][] {w, b}), y.length,
 *                 Map.of(Metrics.LOSS, meanSquaredError(w, b)));
 *     }
 *
 *     public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
 *         return new EvaluateResult(meanSquaredError(model.tensor(0), model.tensor(1)), y.length, Map.of());
 *     }
 *
 *     private double meanSquaredError(float[] w, float[] b) {
 *         double sum = 0;
 *         for (int i = 0; i < y.length; i++) {
 *             double err = predict(w, b, x[i]) - y[i];
 *             sum += err * err;
 *         }
 *         return sum / y.length;
 *     }
 *
 *     private static float predict(float[] w, float[] b, float[] row) {
 *         float s = b[0];
 *         for (int j = 0; j < w.length; j++) {
 *             s += w[j] * row[j];
 *         }
 *         return s;
 *     }
 * }
 * }</pre>
 *
 * <p>Register its factory in {@code META-INF/services/io.pqfl.trainer.TrainerFactory} and run {@code pqfl client
 * --trainer linear --trainer-jar my-trainer.jar ...} (docs/OWN-MODEL.md).
 */
package io.pqfl.trainer;
