package io.pqfl.client.agent;

import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.TaskChunk;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/** One blocking long poll of {@code GetTask}, put together by {@link TaskAssembly}. */
final class TaskFetcher {
    private final FederationGrpc.FederationBlockingStub blocking;
    private final Session session;
    private final ClientAgent.Settings settings;
    private final ModelCache models;
    private final java.util.function.Supplier<ModelCache.Scope> scope;

    TaskFetcher(FederationGrpc.FederationBlockingStub blocking, Session session, ClientAgent.Settings settings,
                ModelCache models, java.util.function.Supplier<ModelCache.Scope> scope) {
        this.blocking = blocking;
        this.session = session;
        this.settings = settings;
        this.models = models;
        this.scope = scope;
    }

    /**
     * Waits up to the settings' poll wait for a task.
     *
     * @throws StatusRuntimeException {@code NOT_FOUND} when none came, {@code OUT_OF_RANGE} when the federation
     *     finished, {@code INTERNAL} for a malformed stream, or whatever the call failed with
     */
    Task fetch() {
        long pollMillis = settings.pollWait().toMillis();
        TaskAssembly assembly = new TaskAssembly(models.newest(scope.get()));
        Iterator<TaskChunk> it = session.attach(blocking)
                .withDeadlineAfter(pollMillis + settings.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .getTask(assembly.request(settings.clientId().value(), pollMillis));
        while (it.hasNext()) {
            Task task = assembly.accept(it.next());
            if (task != null) {
                return task;
            }
        }
        throw assembly.incomplete();
    }
}
