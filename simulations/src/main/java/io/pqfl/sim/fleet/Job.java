package io.pqfl.sim.fleet;

import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.util.Objects;

/**
 * One piece of work for a training worker: fit the global model on one virtual client's examples, or evaluate it
 * on the client's held-out ones. Everything the worker needs travels with the job, so a worker keeps no client's
 * data or model between jobs: a client exists in a worker only while its job runs.
 */
record Job(Kind kind, int client, long round, long seed, TrainingConfig config, ModelWeights global, Examples train,
           Examples eval) {
    enum Kind { FIT, EVALUATE }

    Job {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(global, "global");
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(eval, "eval");
    }
}
