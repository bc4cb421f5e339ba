package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskRequest;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Waiting GetTask calls are parked in the engine, not on threads; a cancelled wait is forgotten. */
class TaskWaitTest {
    @TempDir
    Path dir;

    @Test
    void twoHundredWaitingCalls_holdNoThreads_andCancelledWaitsAreForgotten() throws Exception {
        // 200 clients enrolled, min clients 201: no round opens while only polls arrive; one poll per client (a
        // client's newer poll supersedes its older).
        try (TestFederation fed = TestFederation.start(dir, 200, b -> b.minClients(201).helloRateLimit(10_000, 10_000))) {
            int before = ManagementFactory.getThreadMXBean().getThreadCount();
            List<FederationGrpc.FederationStub> stubs = new ArrayList<>();
            for (int i = 1; i <= 200; i++) {
                TestClient c = fed.client("c" + i);
                c.hello();
                stubs.add(c.asyncStub());
            }
            List<Context.CancellableContext> contexts = new ArrayList<>();
            CountDownLatch ended = new CountDownLatch(200);
            for (int i = 0; i < 200; i++) {
                Context.CancellableContext ctx = Context.current().withCancellation();
                contexts.add(ctx);
                FederationGrpc.FederationStub stub = stubs.get(i);
                ctx.run(() -> stub.getTask(TaskRequest.newBuilder().setWaitMs(30_000).build(),
                        new StreamObserver<TaskChunk>() {
                            @Override
                            public void onNext(TaskChunk value) {
                            }

                            @Override
                            public void onError(Throwable t) {
                                ended.countDown();
                            }

                            @Override
                            public void onCompleted() {
                                ended.countDown();
                            }
                        }));
            }
            Await.until(Duration.ofSeconds(10), "200 task requests to wait at the coordinator",
                    () -> fed.engine.pendingTaskWaits() >= 200);
            assertThat(fed.engine.pendingTaskWaits()).isEqualTo(200);
            // 200 calls are open at the coordinator; its threads did not grow with them.
            assertThat(ManagementFactory.getThreadMXBean().getThreadCount() - before).isLessThan(40);

            for (Context.CancellableContext ctx : contexts) {
                ctx.cancel(null);
            }
            assertThat(ended.await(10, TimeUnit.SECONDS)).isTrue();
            Await.until(Duration.ofSeconds(10), "the cancelled task requests to stop waiting",
                    () -> fed.engine.pendingTaskWaits() == 0);
        }
    }
}
