package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.pqfl.client.PlainTrainerFederationTest.Data;
import io.pqfl.client.PlainTrainerFederationTest.LogisticTrainer;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator accepts an update, and the answer never reaches the client (the connection breaks, or the
 * coordinator is killed, in between). The agent sends the update again; the coordinator answers {@code DUPLICATE}
 * naming the entry it accepted, whose digest is the agent's own: the agent counts its update accepted, not refused,
 * and the coordinator counted it once. This is what a coordinator crash right after an accept looks like to a client.
 */
class LostAnswerTest {
    @TempDir
    Path dir;

    /** Drops the answer to the first {@code SubmitUpdate} on this channel, after the coordinator gave it. */
    static final class LoseFirstAnswer implements ClientInterceptor {
        final AtomicInteger submits = new AtomicInteger();
        final List<Status> lost = new CopyOnWriteArrayList<>();

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            ClientCall<Q, R> call = next.newCall(method, options);
            if (!method.getFullMethodName().equals(FederationGrpc.getSubmitUpdateMethod().getFullMethodName())
                    || submits.incrementAndGet() != 1) {
                return call;
            }
            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onMessage(R message) {
                            // the answer is lost
                        }

                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            lost.add(status);
                            super.onClose(Status.UNAVAILABLE.withDescription("connection lost before the answer arrived"),
                                    new Metadata());
                        }
                    }, headers);
                }
            };
        }
    }

    @Test
    void anUpdateAcceptedWhoseAnswerWasLost_isSentAgain_andCountedAcceptedOnce() throws Exception {
        SigningKey coordinatorKey = Keys.generate(SignatureScheme.ML_DSA_65);
        CoordinatorConfig config = CoordinatorConfig.builder().federationId("lost-answer").dataDir(dir.resolve("data"))
                .initialWeights(ModelWeights.zeros(PlainTrainerFederationTest.LOGISTIC)).rounds(2).minClients(2)
                .roundTimeout(Duration.ofSeconds(30)).training(new TrainingConfig(1, 16, 0.5f, 0f, "sgd")).build();
        TrustStore trust = TrustStore.open(config.trustDir());
        Coordinator coordinator = Coordinator.open(config, coordinatorKey, trust, new CoordinatorMetrics(),
                Clock.systemUTC(), new SecureRandom());
        LoseFirstAnswer lossy = new LoseFirstAnswer();
        List<ManagedChannel> channels = new ArrayList<>();
        List<ClientAgent.RoundReport> reports = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (CoordinatorServer server = new CoordinatorServer(
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), coordinator).start()) {
            List<Future<ClientAgent.Summary>> results = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
                channels.add(ch);
                SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
                trust.add(new ClientId("c" + i), k.verifyingKey());
                ClientAgent agent = new ClientAgent(i == 0 ? ClientInterceptors.intercept(ch, lossy) : ch,
                        ClientAgent.Settings.builder(new ClientId("c" + i), k, coordinatorKey.verifyingKey())
                                .pollWait(Duration.ofSeconds(5)).build(),
                        ClientAgent.Hooks.builder().observe(reports::add).build(),
                        new LogisticTrainer(Data.sample(200, i), Data.sample(50, 10 + i)), ClientAgent.Progress.NONE);
                results.add(pool.submit(agent::run));
            }
            for (Future<ClientAgent.Summary> f : results) {
                ClientAgent.Summary s = f.get(2, TimeUnit.MINUTES);
                assertThat(s.finished()).isTrue();
                assertThat(s.updatesAccepted()).isEqualTo(2);
                assertThat(s.updatesRejected()).isZero();
            }
            // The first upload was accepted by the coordinator (status OK), its answer dropped, and the update sent again.
            assertThat(lossy.lost).containsExactly(Status.OK);
            assertThat(lossy.submits.get()).isEqualTo(3);
            assertThat(reports).filteredOn(r -> r.client().value().equals("c0")).hasSize(2)
                    .allSatisfy(r -> assertThat(r.accepted()).isTrue());

            List<LedgerEntry> entries = coordinator.ledger().entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED)
                    .extracting(e -> e.round() + "/" + e.clientId())
                    .containsExactlyInAnyOrder("1/c0", "1/c1", "2/c0", "2/c1");
            // The second upload is ledgered for what it was: a duplicate of round 1, refused.
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .extracting(e -> e.round() + "/" + e.clientId() + "/" + e.reason())
                    .containsExactly("1/c0/DUPLICATE");
        } finally {
            pool.shutdownNow();
            channels.forEach(ManagedChannel::shutdownNow);
        }
    }
}
