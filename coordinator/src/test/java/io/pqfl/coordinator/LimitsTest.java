package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.protocol.RejectReason;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Floods and stalled streams are bounded by configured limits, answered with a clear status, and hurt nobody else. */
class LimitsTest {
    @TempDir
    Path dir;

    @Test
    void helloFloodFromOneAddress_isRateLimited_whileAnotherAddressIsServed() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.helloRateLimit(5, 10))) {
            TestClient flooder = fed.client("c1");
            int limited = 0;
            for (int i = 0; i < 40; i++) {
                try {
                    flooder.hello();
                } catch (StatusRuntimeException e) {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).startsWith("RATE_LIMITED: too many Hello/enrollment calls from 127.0.0.1");
                    limited++;
                }
            }
            assertThat(limited).isGreaterThanOrEqualTo(20);

            // Another address on the loopback network is not affected by the flood.
            ManagedChannel other = NettyChannelBuilder.forAddress("127.0.0.1", fed.server.port()).usePlaintext()
                    .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                        @Override
                        public SocketAddress createSocketAddress(SocketAddress remote,
                                                                          io.grpc.Attributes attrs) {
                            return new InetSocketAddress("127.0.0.2", 0);
                        }
                    }).build();
            try {
                TestClient polite = new TestClient(other, "c2", fed.clientKeys.get("c2"));
                assertThat(polite.hello().getFederationId()).isEqualTo(fed.config.federationId());
            } finally {
                other.shutdownNow();
            }
        }
    }

    @Test
    void stalledUpload_isCutOffAfterTheUploadTimeout_ledgered_andTheClientCanStillSubmit() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.uploadTimeout(Duration.ofSeconds(1)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.Submission s = c1.prepare(t1, tiny(1), 10);

            CompletableFuture<SubmitResponse> outcome = new CompletableFuture<>();
            StreamObserver<UpdateChunk> stream = c1.uploadStream(fed.channel, new StreamObserver<>() {
                @Override
                public void onNext(SubmitResponse value) {
                    outcome.complete(value);
                }

                @Override
                public void onError(Throwable t) {
                    outcome.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                }
            });
            stream.onNext(UpdateChunk.newBuilder().setHeader(s.header).build());
            stream.onNext(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(s.chunks.get(0))).build());
            // ...and then nothing: the client stalls mid-stream.
            try {
                outcome.get(10, TimeUnit.SECONDS);
                throw new AssertionError("a stalled upload was answered as if complete");
            } catch (ExecutionException e) {
                StatusRuntimeException status = (StatusRuntimeException) e.getCause();
                assertThat(Statuses.reasonOf(status)).isEqualTo(RejectReason.INCOMPLETE);
                assertThat(status.getStatus().getDescription()).contains("stayed open longer than 1 s");
            }
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("INCOMPLETE"));

            c1.submit(t1, tiny(1), 10);
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
        }
    }
}
