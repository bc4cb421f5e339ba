package io.pqfl.client.agent;

import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskRequest;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/** One blocking long poll of {@code GetTask}, put together by {@link TaskAssembly}. */
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
        TaskAssembly assembly = new TaskAssembly();
        while (it.hasNext()) {
            Task task = assembly.accept(it.next());
            if (task != null) {
                return task;
            }
        }
        throw assembly.incomplete();
    }
}
