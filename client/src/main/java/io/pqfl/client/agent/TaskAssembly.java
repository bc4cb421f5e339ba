package io.pqfl.client.agent;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;

/**
 * One task stream put together chunk by chunk: the header, then the model bytes (digested and decoded in one pass
 * as they arrive, never more than the header's manifest describes), then the model's signature. Shared by the
 * blocking long poll ({@link TaskFetcher}) and the asynchronous one of pooled agents ({@link PooledAgent}).
 */
final class TaskAssembly {
    private TaskHeader header;
    private WeightsReceiver receiver;

    /**
     * Takes the next chunk; the whole task once its signature arrived, else null.
     *
     * @throws StatusRuntimeException {@code INTERNAL} for a malformed stream
     */
    Task accept(TaskChunk c) {
        if (header == null) {
            if (!c.hasHeader()) {
                throw malformed("task stream did not start with a header");
            }
            header = c.getHeader();
            ModelManifest manifest = WireMapping.fromWire(header.getManifest());
            receiver = new WeightsReceiver(manifest);
            return null;
        }
        if (c.hasModelChunk()) {
            try {
                receiver.accept(c.getModelChunk().asReadOnlyByteBuffer());
            } catch (WeightsReceiver.OverflowException e) {
                throw malformed("model larger than its manifest: " + e.getMessage());
            }
            return null;
        }
        if (c.hasModelSignature()) {
            if (!receiver.isComplete()) {
                throw malformed("model stream ended early");
            }
            return new Task(header, receiver.weights(), receiver.digest(), WireMapping.fromWire(c.getModelSignature()));
        }
        return null;
    }

    /** The stream ended: the error for a task that never completed. */
    StatusRuntimeException incomplete() {
        return malformed(header == null ? "task stream ended without a header"
                : "task stream ended without the model signature");
    }

    static StatusRuntimeException malformed(String description) {
        return Status.INTERNAL.withDescription(description).asRuntimeException();
    }
}
