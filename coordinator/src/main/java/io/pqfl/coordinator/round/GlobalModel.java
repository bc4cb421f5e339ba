package io.pqfl.coordinator.round;

import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The current global model: its weights, its signed statement, and its wire bytes cut into chunks once for every task. */
record GlobalModel(ModelWeights weights, SignedModel signed, List<ByteBuffer> chunks) {
    GlobalModel {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(signed, "signed");
        chunks = List.copyOf(chunks);
    }

    static GlobalModel of(ModelWeights weights, SignedModel signed, int chunkBytes) {
        List<ByteBuffer> chunks = new ArrayList<>();
        weights.writeChunks(chunkBytes, b -> chunks.add(ByteBuffer.wrap(b).asReadOnlyBuffer()));
        return new GlobalModel(weights, signed, chunks);
    }

    long round() {
        return signed.statement().modelRound();
    }
}
