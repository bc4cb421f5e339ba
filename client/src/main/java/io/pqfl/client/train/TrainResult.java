package io.pqfl.client.train;

import io.pqfl.protocol.ModelWeights;

/** The outcome of local training: the new weights and what the client measured. */
public record TrainResult(ModelWeights weights, long examples, double trainLoss, double evalLoss, double evalAccuracy,
                          long evalExamples, long trainMillis) {
}
