package io.pqfl.coordinator.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.pqfl.proto.v1.Challenge;
import io.pqfl.proto.v1.ChallengeRequest;
import io.pqfl.proto.v1.FederationGrpc;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A call that opens and never sends its request is closed (pure call logic, so the in-process transport: a gRPC
 * client over Netty sends no headers before its first message, so only a raw HTTP/2 peer can hold such a call).
 */
class RequestTimeoutInterceptorTest {
    @Test
    void callWithoutItsRequest_isClosedDeadlineExceeded_andACallWithItIsServed() throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        Server server = InProcessServerBuilder.forName("request-timeout").addService(ServerInterceptors.intercept(
                new FederationGrpc.FederationImplBase() {
                    @Override
                    public void getChallenge(ChallengeRequest request, StreamObserver<Challenge> responses) {
                        responses.onNext(Challenge.newBuilder().setFederationId("f").build());
                        responses.onCompleted();
                    }
                }, new RequestTimeoutInterceptor(Duration.ofMillis(300), timer))).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName("request-timeout").build();
        try {
            CompletableFuture<Status> ended = new CompletableFuture<>();
            ClientCall<ChallengeRequest, Challenge> halfOpen = channel.newCall(FederationGrpc.getGetChallengeMethod(),
                    CallOptions.DEFAULT);
            halfOpen.start(new ClientCall.Listener<>() {
                @Override
                public void onClose(Status status, Metadata trailers) {
                    ended.complete(status);
                }
            }, new Metadata());
            halfOpen.request(1); // and never sendMessage
            Status status = ended.get(10, TimeUnit.SECONDS);
            assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            assertThat(status.getDescription()).contains("no request arrived");

            assertThat(FederationGrpc.newBlockingStub(channel).getChallenge(ChallengeRequest.getDefaultInstance())
                    .getFederationId()).isEqualTo("f");
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            timer.shutdownNow();
        }
    }
}
