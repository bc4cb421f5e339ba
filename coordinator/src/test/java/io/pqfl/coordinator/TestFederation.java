package io.pqfl.coordinator;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.SslContext;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.server.CoordinatorServer;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ProtocolFixtures;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A coordinator on a real Netty port on 127.0.0.1 with enrolled test clients; restartable on the same data dir. */
public final class TestFederation implements AutoCloseable {
    public final Path dir;
    public final SigningKey coordinatorKey = TestKeys.key(SignatureScheme.ML_DSA_65);
    final Map<String, SigningKey> clientKeys = new LinkedHashMap<>();
    final TrustStore trust;
    public final CoordinatorConfig config;
    final CoordinatorMetrics metrics = new CoordinatorMetrics();
    /** The coordinator's parts; {@link #engine} is its rounds. */
    public Coordinator coordinator;
    public FederationEngine engine;
    CoordinatorServer server;
    ManagedChannel channel;
    /** TLS for the server and the shared channel; null for plaintext. */
    SslContext serverTls;
    SslContext clientTls;

    private TestFederation(Path dir, CoordinatorConfig config, TrustStore trust) {
        this.dir = dir;
        this.config = config;
        this.trust = trust;
    }

    /** Clients "c1".."cN" with ML-DSA-44 keys, the tiny model, FedAvg, min 2 clients, 1 round, 20 s rounds. */
    public static TestFederation start(Path dir, int clients, Consumer<CoordinatorConfig.Builder> tweak) throws Exception {
        return start(dir, clients, tweak, null, null);
    }

    /** The same over TLS: the server with {@code serverTls}, the shared channel with {@code clientTls}. */
    public static TestFederation start(Path dir, int clients, Consumer<CoordinatorConfig.Builder> tweak,
                                SslContext serverTls, SslContext clientTls)
            throws Exception {
        Path initial = dir.resolve("initial.pqfl");
        ModelFiles.write(initial, ProtocolFixtures.tiny(0), null);
        CoordinatorConfig.Builder b = CoordinatorConfig.builder().federationId(ProtocolFixtures.FEDERATION)
                .dataDir(dir.resolve("data")).trustDir(dir.resolve("trust")).initialModel(initial).rounds(1).minClients(2)
                .roundTimeout(Duration.ofSeconds(20))
                // Every test client shares 127.0.0.1: the per-address call limit is the tests' to set.
                .callRateLimit(1_000, 1_000)
                // Most tests' clients only train: the tests of federated evaluation turn it on.
                .finalEvaluation(false);
        tweak.accept(b);
        CoordinatorConfig config = b.build();
        TrustStore trust = TrustStore.open(config.trustDir());
        TestFederation f = new TestFederation(dir, config, trust);
        f.serverTls = serverTls;
        f.clientTls = clientTls;
        for (int i = 1; i <= clients; i++) {
            SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
            f.clientKeys.put("c" + i, k);
            trust.add(new ClientId("c" + i), k.verifyingKey());
        }
        f.startServer();
        return f;
    }

    void startServer() throws Exception {
        coordinator = Coordinator.open(config, coordinatorKey, trust, metrics, Clock.systemUTC(), new SecureRandom());
        engine = coordinator.rounds();
        NettyServerBuilder sb = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
        server = new CoordinatorServer(serverTls == null ? sb : sb.sslContext(serverTls), coordinator).start();
        channel = channel(clientTls);
    }

    /** A new channel to the server: plaintext when {@code tls} is null. */
    ManagedChannel channel(SslContext tls) {
        NettyChannelBuilder cb = NettyChannelBuilder.forAddress("127.0.0.1", server.port());
        return (tls == null ? cb.usePlaintext() : cb.sslContext(tls)).build();
    }

    /** Stops the server (as a crash would, without finishing the round) and starts a new one on the same data dir. */
    void restart() throws Exception {
        stop();
        startServer();
    }

    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    /** Session tokens by client id, shared by every TestClient handle this federation gives out. */
    final Map<String, String> sessions = new java.util.concurrent.ConcurrentHashMap<>();

    public TestClient client(String id) {
        return new TestClient(channel, id, clientKeys.get(id), sessions);
    }

    /** Handles of {@code ids}, each having said Hello (a session, and live for the rounds). */
    public java.util.List<TestClient> hello(String... ids) {
        java.util.List<TestClient> clients = new java.util.ArrayList<>();
        for (String id : ids) {
            TestClient c = client(id);
            c.hello();
            clients.add(c);
        }
        return clients;
    }

    public TestClient client(String id, SigningKey key) {
        return new TestClient(channel, id, key, sessions);
    }

    ModelWeights global() {
        return engine.globalWeights();
    }

    void enroll(String id, SigningKey key) throws Exception {
        clientKeys.put(id, key);
        trust.add(new ClientId(id), key.verifyingKey());
    }

    public static void writeKey(SigningKey key, Path base) throws Exception {
        KeyPem.writeKeyPair(key, Path.of(base + ".key"), Path.of(base + ".pub"), null);
    }

    @Override
    public void close() throws Exception {
        stop();
    }
}
