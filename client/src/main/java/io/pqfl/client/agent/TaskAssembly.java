package io.pqfl.client.agent;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;

/**
 * One task stream put together chunk by chunk: the header, then the model bytes (digested and decoded in one pass
 * as they arrive, never more than the header's manifest describes), then the model's signature. When the header
 * says the model was omitted, the model is the held one the request named ({@link ModelCache}), and no chunk may
 * come. Shared by the blocking long poll ({@link TaskFetcher}) and the asynchronous one of pooled agents
 * ({@link PooledAgent}).
 */
final class TaskAssembly {
    private final ModelCache.Held offered;
    private TaskHeader header;
    private WeightsReceiver receiver;

    /** @param offered the held model the request named (null: none) */
    TaskAssembly(ModelCache.Held offered) {
        this.offered = offered;
    }

    /** The task request for {@code client}, naming the held model this assembly was made with, if any. */
    TaskRequest request(String client, long waitMillis) {
        TaskRequest.Builder b = TaskRequest.newBuilder().setClientId(client).setWaitMs((int) waitMillis);
        if (offered != null) {
            b.setHeldModelDigest(ByteString.copyFrom(offered.digest().bytes()));
        }
        return b.build();
    }

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
            if (header.getModelOmitted()) {
                if (offered == null) {
                    throw malformed("the task omitted its model, but this client named none it holds");
                }
                return null;
            }
            ModelManifest manifest = WireMapping.fromWire(header.getManifest());
            receiver = new WeightsReceiver(manifest);
            return null;
        }
        if (c.hasModelChunk()) {
            if (receiver == null) {
                throw malformed("model bytes after a header that omitted the model");
            }
            try {
                receiver.accept(c.getModelChunk().asReadOnlyByteBuffer());
            } catch (WeightsReceiver.OverflowException e) {
                throw malformed("model larger than its manifest: " + e.getMessage());
            }
            return null;
        }
        if (c.hasModelSignature()) {
            if (receiver == null) {
                // The held copy and its digest: the task and model statements are checked against that digest. The
                // cache's own copy: the agent copies it before training (not here, on the transport's thread).
                return new Task(header, offered.weights(), offered.digest(), WireMapping.fromWire(c.getModelSignature()),
                        true);
            }
            if (!receiver.isComplete()) {
                throw malformed("model stream ended early");
            }
            return new Task(header, receiver.weights(), receiver.digest(), WireMapping.fromWire(c.getModelSignature()),
                    false);
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
