package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client that dies mid-upload: its half-sent update is refused and ledgered, and the round goes on. */
class FaultsTest {
    @TempDir
    Path dir;

    @Test
    void clientKilledMidUpload_isLedgeredIncomplete_roundCompletesWithTheOthers_ledgerVerifies() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 3, b -> b.minClients(3).minUpdates(2)
                .roundTimeout(Duration.ofSeconds(3)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            TestClient c3 = fed.client("c3");
            c1.hello();
            c2.hello();
            c3.hello();
            TestClient.ReceivedTask t3 = c3.task(10_000);
            TestClient.Submission doomed = c3.prepare(t3, tiny(9), 10);

            // c3 starts streaming on its own connection, then its process dies: the connection drops.
            ManagedChannel dying = NettyChannelBuilder.forAddress("127.0.0.1", fed.server.port()).usePlaintext().build();
            StreamObserver<UpdateChunk> stream = c3.uploadStream(dying, new StreamObserver<SubmitResponse>() {
                @Override
                public void onNext(SubmitResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
            stream.onNext(UpdateChunk.newBuilder().setHeader(doomed.header).build());
            stream.onNext(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(doomed.chunks.get(0))).build());
            // It dies mid-upload: once the coordinator holds its upload and has taken its first chunk.
            Await.until(Duration.ofSeconds(5), "c3's upload to begin and its first chunk to arrive",
                    () -> fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value() == 1.0
                            && fed.metrics.registry().get("pqfl.bytes.received").counter().count()
                            == doomed.chunks.get(0).length);
            dying.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

            c1.submit(c1.task(10_000), tiny(1), 10);
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .singleElement().satisfies(e -> {
                        assertThat(e.clientId()).isEqualTo("c3");
                        assertThat(e.reason()).isEqualTo("INCOMPLETE");
                    });
            LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()));
            assertThat(report.ok()).as(report.problem()).isTrue();
            assertThat(report.acceptedUpdates()).isEqualTo(2);
        }
    }
}
