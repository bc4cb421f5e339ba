package io.pqfl.coordinator.round;

import com.google.protobuf.ByteString;
import io.pqfl.proto.v1.ModelSignature;
import io.pqfl.proto.v1.TaskHeader;
import java.util.List;

/** One round's task as sent to every sampled client: shared, immutable, built once per round. */
public record Task(TaskHeader header, List<ByteString> modelChunks, ModelSignature signature) {
    public Task {
        modelChunks = List.copyOf(modelChunks);
    }
}
