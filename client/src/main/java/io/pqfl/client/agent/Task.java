package io.pqfl.client.agent;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;

/**
 * A task as received, not yet trusted: {@link TaskVerifier} decides. {@code digest} is computed over the
 * model bytes as they arrived, not taken from the coordinator.
 */
record Task(TaskHeader header, ModelWeights model, PayloadDigest digest, SignedModel signed) {
    long round() {
        return header.getRound();
    }
}
