package io.pqfl.protocol;

/** What the coordinator asks clients to do in a round. */
public record TrainingConfig(int localEpochs, int batchSize, float learningRate, float proximalMu, String optimizer) {
    public TrainingConfig {
        if (localEpochs < 1 || batchSize < 1 || !(learningRate > 0) || !Float.isFinite(learningRate)
                || !(proximalMu >= 0) || !Float.isFinite(proximalMu) || optimizer == null) {
            throw new IllegalArgumentException("invalid training config: epochs " + localEpochs + ", batch " + batchSize
                    + ", lr " + learningRate + ", mu " + proximalMu + ", optimizer " + optimizer);
        }
    }

    public static TrainingConfig defaults() {
        return new TrainingConfig(1, 64, 1e-3f, 0f, "adam");
    }

    public TrainingConfig withProximalMu(float mu) {
        return new TrainingConfig(localEpochs, batchSize, learningRate, mu, optimizer);
    }
}
