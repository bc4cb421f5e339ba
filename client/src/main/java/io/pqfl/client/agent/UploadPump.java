package io.pqfl.client.agent;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.proto.v1.UpdateTrailer;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;

/**
 * One {@code SubmitUpdate} stream: header, tensor chunks, trailer with the signature, each sent only while the
 * transport is ready. Chunks are taken from the iterator only then, so memory stays at about one chunk in
 * flight however large the update.
 */
final class UploadPump {
    private final ClientCallStreamObserver<UpdateChunk> out;
    private final UpdateHeader header;
    private final Iterator<byte[]> chunks;
    private final byte[] signature;
    private final io.pqfl.proto.v1.PartialAggregate partial;
    private boolean headerSent;
    private boolean done;

    private UploadPump(ClientCallStreamObserver<UpdateChunk> out, UpdateHeader header, Iterator<byte[]> chunks,
                       byte[] signature, io.pqfl.proto.v1.PartialAggregate partial) {
        this.partial = partial;
        this.out = out;
        this.header = header;
        this.chunks = chunks;
        this.signature = signature;
    }

    /**
     * Starts the upload on {@code stub} (which carries the deadline and the session); the future completes with
     * the coordinator's answer, or with the call's {@link io.grpc.StatusRuntimeException}.
     *
     * @param chunks the tensor bytes; each array must be fresh and left unchanged once returned (it is sent
     *     without a copy), as {@link WeightChunks} does
     */
    static CompletableFuture<SubmitResponse> start(FederationGrpc.FederationStub stub, UpdateHeader header,
                                                   Iterator<byte[]> chunks, byte[] signature) {
        return start(stub, header, chunks, signature, null);
    }

    /** {@link #start(FederationGrpc.FederationStub, UpdateHeader, Iterator, byte[])} with an aggregator's partial aggregate. */
    static CompletableFuture<SubmitResponse> start(FederationGrpc.FederationStub stub, UpdateHeader header,
                                                   Iterator<byte[]> chunks, byte[] signature,
                                                   io.pqfl.proto.v1.PartialAggregate partial) {
        CompletableFuture<SubmitResponse> result = new CompletableFuture<>();
        stub.submitUpdate(new ClientResponseObserver<UpdateChunk, SubmitResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<UpdateChunk> requests) {
                requests.setOnReadyHandler(new UploadPump(requests, header, chunks, signature, partial)::drain);
            }

            @Override
            public void onNext(SubmitResponse value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                if (!result.isDone()) {
                    result.completeExceptionally(Status.INTERNAL.withDescription("no response").asRuntimeException());
                }
            }
        });
        return result;
    }

    /** Called by gRPC, one call at a time, whenever the transport becomes ready for more. */
    private void drain() {
        while (!done && out.isReady()) {
            if (!headerSent) {
                out.onNext(UpdateChunk.newBuilder().setHeader(header).build());
                headerSent = true;
            } else if (chunks.hasNext()) {
                // Each chunk is a fresh array that nothing else holds or changes: wrapping it saves a copy.
                ByteString chunk = UnsafeByteOperations.unsafeWrap(chunks.next());
                out.onNext(UpdateChunk.newBuilder().setTensorChunk(chunk).build());
            } else {
                UpdateTrailer.Builder trailer = UpdateTrailer.newBuilder().setSignature(ByteString.copyFrom(signature));
                if (partial != null) {
                    trailer.setPartialAggregate(partial);
                }
                out.onNext(UpdateChunk.newBuilder().setTrailer(trailer).build());
                out.onCompleted();
                done = true;
            }
        }
    }
}
