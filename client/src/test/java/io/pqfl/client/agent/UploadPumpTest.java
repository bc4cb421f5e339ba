package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.protocol.ModelWeights;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The upload takes a chunk from the model only when the transport can send it. In-process gRPC is enough
 * here: its client stream is ready exactly while the server has asked for more, which makes flow control
 * deterministic; the wire itself is exercised by the end-to-end tests.
 */
class UploadPumpTest {
    private static final int CHUNK_BYTES = 256;
    private static final byte[] SIGNATURE = {1, 2, 3};

    private final String name = InProcessServerBuilder.generateName();
    private Server server;
    private ManagedChannel channel;

    /** What the server saw: the tensor bytes, and for each message how many chunks the client had made by then. */
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private final List<Integer> madeAheadOfReceived = Collections.synchronizedList(new ArrayList<>());
    private final List<String> parts = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void close() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A coordinator that reads the upload one message at a time, asking for the next only after the last. */
    private void startSlowReader(AtomicInteger made) throws Exception {
        server = InProcessServerBuilder.forName(name).addService(new FederationGrpc.FederationImplBase() {
            @Override
            public StreamObserver<UpdateChunk> submitUpdate(StreamObserver<SubmitResponse> responses) {
                ServerCallStreamObserver<SubmitResponse> call = (ServerCallStreamObserver<SubmitResponse>) responses;
                call.disableAutoRequest();
                call.request(1);
                return new StreamObserver<>() {
                    private int chunks;

                    @Override
                    public void onNext(UpdateChunk c) {
                        parts.add(c.getPartCase().name());
                        if (c.hasTensorChunk()) {
                            chunks++;
                            received.writeBytes(c.getTensorChunk().toByteArray());
                        }
                        madeAheadOfReceived.add(made.get() - chunks);
                        call.request(1);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        responses.onNext(SubmitResponse.newBuilder().setAccepted(true).setLedgerSeq(chunks).build());
                        responses.onCompleted();
                    }
                };
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    private static Iterator<byte[]> counting(Iterator<byte[]> chunks, AtomicInteger made) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return chunks.hasNext();
            }

            @Override
            public byte[] next() {
                made.incrementAndGet();
                return chunks.next();
            }
        };
    }

    @Test
    void start_makesEachChunkOnlyWhenTheTransportIsReadyForIt_andSendsTheWholeUpdateInOrder() throws Exception {
        AtomicInteger made = new AtomicInteger();
        startSlowReader(made);
        ModelWeights update = WeightChunksTest.model();
        int expectedChunks = (int) ((update.manifest().totalBytes() + CHUNK_BYTES - 1) / CHUNK_BYTES);
        UpdateHeader header = UpdateHeader.newBuilder().setFederationId("fed").setRound(1).build();

        SubmitResponse response = UploadPump.start(FederationGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS),
                header, counting(new WeightChunks(update, CHUNK_BYTES), made), SIGNATURE).get(30, TimeUnit.SECONDS);

        assertThat(expectedChunks).isGreaterThan(10);
        assertThat(response.getLedgerSeq()).isEqualTo(expectedChunks);
        assertThat(received.toByteArray()).isEqualTo(update.toBytes());
        assertThat(parts).hasSize(expectedChunks + 2).startsWith("HEADER").endsWith("TRAILER");
        assertThat(made.get()).isEqualTo(expectedChunks);
        // Built all up front, the client would have made every chunk before the server saw the header. Made on
        // demand, it is never more than one chunk ahead of what the server has taken.
        assertThat(madeAheadOfReceived.get(0)).as("chunks made when the header arrived").isLessThanOrEqualTo(1);
        assertThat(madeAheadOfReceived).allSatisfy(ahead -> assertThat(ahead).isBetween(0, 1));
    }

    @Test
    void start_anEmptyUpdateStillSendsHeaderAndSignedTrailer() throws Exception {
        startSlowReader(new AtomicInteger());
        SubmitResponse response = UploadPump.start(FederationGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS),
                UpdateHeader.getDefaultInstance(), Collections.emptyIterator(), SIGNATURE).get(30, TimeUnit.SECONDS);
        assertThat(response.getLedgerSeq()).isZero();
        assertThat(parts).containsExactly("HEADER", "TRAILER");
    }
}
