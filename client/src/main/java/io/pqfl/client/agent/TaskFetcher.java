package io.pqfl.client.agent;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * One long poll of {@code GetTask}: the header, then the model bytes (digested and decoded in one pass as they
 * arrive, never more than the header's manifest describes), then the model's signature.
 */
final class TaskFetcher {
    private final FederationGrpc.FederationBlockingStub blocking;
    private final Session session;
    private final ClientAgent.Settings settings;

    TaskFetcher(FederationGrpc.FederationBlockingStub blocking, Session session, ClientAgent.Settings settings) {
        this.blocking = blocking;
        this.session = session;
        this.settings = settings;
    }

    /**
     * Waits up to the settings' poll wait for a task.
     *
     * @throws StatusRuntimeException {@code NOT_FOUND} when none came, {@code OUT_OF_RANGE} when the federation
     *     finished, {@code INTERNAL} for a malformed stream, or whatever the call failed with
     */
    Task fetch() {
        long pollMillis = settings.pollWait().toMillis();
        Iterator<TaskChunk> it = session.attach(blocking)
                .withDeadlineAfter(pollMillis + settings.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .getTask(TaskRequest.newBuilder().setClientId(settings.clientId().value()).setWaitMs((int) pollMillis)
                        .build());
        TaskChunk first = it.next();
        if (!first.hasHeader()) {
            throw malformed("task stream did not start with a header");
        }
        TaskHeader header = first.getHeader();
        ModelManifest manifest = WireMapping.fromWire(header.getManifest());
        WeightsReceiver receiver = new WeightsReceiver(manifest);
        while (it.hasNext()) {
            TaskChunk c = it.next();
            if (c.hasModelChunk()) {
                try {
                    receiver.accept(c.getModelChunk().asReadOnlyByteBuffer());
                } catch (WeightsReceiver.OverflowException e) {
                    throw malformed("model larger than its manifest: " + e.getMessage());
                }
            } else if (c.hasModelSignature()) {
                if (!receiver.isComplete()) {
                    throw malformed("model stream ended early");
                }
                return new Task(header, receiver.weights(), receiver.digest(), WireMapping.fromWire(c.getModelSignature()));
            }
        }
        throw malformed("task stream ended without the model signature");
    }

    private static StatusRuntimeException malformed(String description) {
        return Status.INTERNAL.withDescription(description).asRuntimeException();
    }
}
