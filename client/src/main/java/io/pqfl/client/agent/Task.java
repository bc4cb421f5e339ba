package io.pqfl.client.agent;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;

/**
 * A task as received, not yet trusted: {@link TaskVerifier} decides. {@code digest} is computed over the
 * model bytes as they arrived, not taken from the coordinator, or for a model the coordinator omitted ({@code held}),
 * the digest this client computed when it first received and verified that model ({@link ModelCache}).
 */
record Task(TaskHeader header, ModelWeights model, PayloadDigest digest, SignedModel signed, boolean held) {
    /** A held task with a private copy of the cache's model, for a trainer to do what it likes with. */
    Task withOwnModel() {
        return held ? new Task(header, model.copy(), digest, signed, true) : this;
    }

    long round() {
        return header.getRound();
    }
}
