package io.pqfl.coordinator;

import static io.pqfl.coordinator.Refusals.assertRefused;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.metrics.MetricsEndpoint;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.TrustStore;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.HelloRequest;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SessionStatement;
import io.pqfl.protocol.TensorSpec;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The findings of the adversarial review of the hardened coordinator (docs/SECURITY.md, "Review findings"),
 * each run as the attack it was and asserted to fail now, against a real coordinator over a real socket.
 */
class ReviewRegressionTest {
    @TempDir
    Path dir;

    /** An upload stream kept open on purpose; its outcome can be awaited. */
    static final class Held {
        final CompletableFuture<SubmitResponse> outcome = new CompletableFuture<>();
        final StreamObserver<UpdateChunk> stream;

        Held(TestClient client, io.grpc.Channel channel) {
            stream = client.uploadStream(channel, new StreamObserver<>() {
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
        }
    }

    private static double uploadsInProgress(TestFederation fed) {
        return fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value();
    }

    private static ManagedChannel channelFrom(TestFederation fed, String localAddress, int flowWindow) {
        return NettyChannelBuilder.forAddress("127.0.0.1", fed.server.port()).usePlaintext().flowControlWindow(flowWindow)
                .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                    @Override
                    public SocketAddress createSocketAddress(SocketAddress remote, io.grpc.Attributes attrs) {
                        return new InetSocketAddress(localAddress, 0);
                    }
                }).build();
    }

    private static void round(TestFederation fed, Map<String, ModelWeights> updates) throws Exception {
        for (var u : updates.entrySet()) {
            TestClient c = fed.client(u.getKey());
            c.submit(c.task(15_000), u.getValue(), 10);
        }
    }

    /** A model of rows x cols float32 values in one tensor. */
    private Path bigModel(int rows, int cols) throws Exception {
        Path file = dir.resolve("big.pqfl");
        float[] w = new float[rows * cols];
        java.util.Arrays.fill(w, 0.5f);
        ModelFiles.write(file, ModelWeights.of(new ModelManifest("big", List.of(TensorSpec.of("w", rows, cols))),
                new float[][] {w}), null);
        return file;
    }

    /** Finding 1: GetTask streams a client never reads pinned a model chunk each, without bound. */
    @Test
    void unreadTaskStreamsOfOneClient_holdAtMostTwoSlots_theRestAreRefusedBusy() throws Exception {
        Path model = bigModel(1024, 1024); // 4 MiB: 16 chunks of 256 KiB
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.initialModel(model)
                .uploadIdleTimeout(Duration.ofSeconds(2)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            Await.until(Duration.ofSeconds(10), "round 1", () -> fed.engine.status().currentRound() == 1);
            ManagedChannel slow = channelFrom(fed, "127.0.5.1", 1024);
            ConcurrentLinkedQueue<Status> closed = new ConcurrentLinkedQueue<>();
            try {
                Metadata md = new Metadata();
                md.put(Metadata.Key.of(SessionStatement.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER), c1.session());
                for (int i = 0; i < 50; i++) {
                    ClientCall<TaskRequest, TaskChunk> call = slow.newCall(FederationGrpc.getGetTaskMethod(), CallOptions.DEFAULT);
                    Metadata headers = new Metadata();
                    headers.merge(md);
                    call.start(new ClientCall.Listener<>() {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            closed.add(status);
                        }
                    }, headers);
                    call.sendMessage(TaskRequest.newBuilder().setWaitMs(1000).build());
                    call.halfClose(); // and never call.request(n): the client reads nothing
                    int sent = i + 1;
                    Await.until(Duration.ofSeconds(5), "the request to be seated or refused",
                            () -> closed.size() + streamsHeld(fed) >= Math.min(sent, 2) + Math.max(0, sent - 2));
                }
                // Two streams hold a chunk each (the newest, and the one it superseded, whose end waits behind its
                // chunk); every further request of this client is refused at once.
                // (A request that arrives before the one it supersedes was seated ends CANCELLED instead.)
                Await.until(Duration.ofSeconds(10), "48 streams ended", () -> closed.size() >= 48);
                assertThat(closed).allSatisfy(s -> assertThat(s.getCode()).isIn(Status.Code.RESOURCE_EXHAUSTED,
                        Status.Code.CANCELLED));
                assertThat(closed).filteredOn(s -> s.getCode() == Status.Code.RESOURCE_EXHAUSTED)
                        .hasSizeGreaterThanOrEqualTo(40).allSatisfy(s -> assertThat(s.getDescription()).startsWith("BUSY: "));
                assertThat(streamsHeld(fed)).isLessThanOrEqualTo(2.0);
                // The honest client is served meanwhile.
                assertThat(c2.task(10_000).model().manifest().totalBytes()).isEqualTo(4L << 20);
            } finally {
                slow.shutdownNow();
            }
            // When the attacker's connection goes, so do its slots.
            Await.until(Duration.ofSeconds(10), "the slots to be released", () -> streamsHeld(fed) == 0.0);
        }
    }

    private static double streamsHeld(TestFederation fed) {
        return fed.metrics.registry().get("pqfl.task.streams").gauge().value();
    }

    /** Finding 2: superseded uploads kept their budget slots, so one client could hold them all. */
    @Test
    void supersededUploads_freeTheirSlotsAtOnce_soOneClientCannotHoldTheBudget() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 3, b -> b.uploadLimits(8, 64L << 20).minClients(3))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            TestClient c3 = fed.client("c3");
            c1.hello();
            c2.hello();
            c3.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.Submission s1 = c1.prepare(t1, tiny(1), 10);
            List<Held> attacker = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                Held h = new Held(c1, fed.channel);
                h.stream.onNext(UpdateChunk.newBuilder().setHeader(s1.header).build());
                attacker.add(h);
            }
            Await.until(Duration.ofSeconds(10), "49 superseded uploads to be ended",
                    () -> attacker.stream().filter(h -> h.outcome.isDone()).count() >= 49);
            assertThat(uploadsInProgress(fed)).isLessThanOrEqualTo(1.0);
            c2.submit(c2.task(10_000), tiny(3), 10);
            c3.submit(c3.task(10_000), tiny(5), 10);
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
        }
    }

    /** Finding 3: one finite, huge update gave FedAdam infinite moments, and the model never moved again. */
    @Test
    void fedAdam_hugeFiniteUpdate_skipsItsRound_andTheModelStillLearnsAfterwards() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.strategy("fedadam").rounds(3))) {
            fed.client("c1").hello();
            fed.client("c2").hello();
            ModelWeights initial = fed.global().copy();
            round(fed, Map.of("c1", tiny(1e20f), "c2", tiny(1)));
            round(fed, Map.of("c1", tiny(5), "c2", tiny(5)));
            round(fed, Map.of("c1", tiny(5), "c2", tiny(5)));
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(30))).isTrue();

            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.ROUND_SKIPPED)
                    .singleElement().satisfies(e -> {
                        assertThat(e.round()).isEqualTo(1);
                        assertThat(e.reason()).isEqualTo("BAD_AGGREGATE");
                        assertThat(e.detail()).contains("fedadam's server step overflows");
                    });
            assertThat(fed.global().tensor(0)[0]).isNotEqualTo(initial.tensor(0)[0]);
            ModelWeights state = ModelFiles.read(fed.config.dataDirectory().strategyState(3)).weights();
            for (int t = 0; t < state.tensorCount(); t++) {
                for (float v : state.tensor(t)) {
                    assertThat(Float.isFinite(v)).isTrue();
                }
            }
        }
    }

    /** Finding 4: the optimiser's state file was unsigned and steered the next signed model. */
    @Test
    void strategyStateChangedOnDisk_isRefusedAtRestart() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.strategy("fedadam").rounds(2))) {
            fed.client("c1").hello();
            fed.client("c2").hello();
            round(fed, Map.of("c1", tiny(2), "c2", tiny(4)));
            Await.until(Duration.ofSeconds(10), "round 1 to close", () -> fed.engine.status().closedRounds() == 1);
            fed.stop();
            Path stateFile = fed.config.dataDirectory().strategyState(1);
            ModelWeights state = ModelFiles.read(stateFile).weights();
            java.util.Arrays.fill(state.tensor(0), 1000f);
            ModelFiles.write(stateFile, state, null);
            assertThatThrownBy(fed::startServer).hasMessageContaining("state-000001.pqfl does not match the strategy state");
        }
    }

    /** Finding 5: a heap too small for the model failed every upload with out-of-memory, silently. */
    @Test
    void heapTooSmallForTheModel_isRefusedAtStartWithWhatItNeeds() throws Exception {
        Path model = bigModel(2048, 2048); // 16 MiB
        assertThatThrownBy(() -> io.pqfl.coordinator.round.FederationEngineTesting.budgetFor(16L << 20, 96L << 20))
                .hasMessageContaining("too small for this model of 16 MiB").hasMessageContaining("raise -Xmx");
        assertThat(io.pqfl.coordinator.round.FederationEngineTesting.budgetFor(16L << 20, 1L << 30)).contains("uploads at once");
        assertThat(model).exists();
    }

    /**
     * Uploads hold up to eight times what they were sent, so an operator's budget beyond what the heap leaves would let
     * a few sampled clients run the coordinator out of memory by starting uploads: refused at start, with the numbers.
     */
    @Test
    void anUploadBudgetBeyondTheHeap_isRefusedAtStart_andOneWithinItIsKept() {
        // 16 MiB model, 1 GiB heap: 1024 - 3 x 16 - 64 = 912 MiB for uploads.
        assertThatThrownBy(() -> io.pqfl.coordinator.round.FederationEngineTesting.budgetFor(16L << 20, 4L << 30, 1L << 30))
                .hasMessageContaining("upload memory budget (--upload-memory-mib) of 4096 MiB")
                .hasMessageContaining("912 MiB of 1024 MiB");
        assertThat(io.pqfl.coordinator.round.FederationEngineTesting.budgetFor(16L << 20, 912L << 20, 1L << 30))
                .contains("912 MiB of tensors");
    }

    /** Finding 6: one client's Hellos filled the global replay cache and locked everyone out. */
    @Test
    void oneClientsManyHellos_lockNobodyOut_andAReplayedHelloIsStillRefused() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.helloRateLimit(1_000, 1_000))) {
            TestClient c1 = fed.client("c1");
            var first = c1.challenge();
            HelloRequest old = c1.helloRequest(null, first.getChallenge().toByteArray(), SessionStatement.prove(
                    first.getFederationId(), TestClient.COORDINATOR, c1.id, first.getChallenge().toByteArray(), c1.key));
            c1.hello(old);
            for (int i = 0; i < 100; i++) {
                c1.hello();
            }
            assertThat(fed.client("c2").hello().getSessionToken()).isNotEmpty();
            assertRefused(() -> c1.hello(old), RejectReason.CHALLENGE_INVALID);
        }
    }

    /** Finding 7: robust strategies configured so they cannot be robust ran anyway. */
    @Test
    void robustStrategiesThatCannotBeRobustAtThisSize_areRefusedAtStart() {
        assertThatThrownBy(() -> TestFederation.start(dir, 3, b -> b.strategy("trimmedmean").minClients(3)))
                .hasMessageContaining("trims nothing from a round of 3 updates");
        assertThatThrownBy(() -> TestFederation.start(dir.resolve("k"), 3, b -> b.strategy("krum").minClients(3)))
                .hasMessageContaining("needs rounds of at least 2f+3 = 5 updates");
    }

    /** Finding 8: the health service was outside every limit, and half-open calls lived forever. */
    @Test
    void healthCalls_areRateLimitedLikeEveryOtherCall() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.callRateLimit(10, 20))) {
            var health = HealthGrpc.newBlockingStub(fed.channel);
            int limited = 0;
            for (int i = 0; i < 100; i++) {
                try {
                    health.check(HealthCheckRequest.getDefaultInstance());
                } catch (StatusRuntimeException e) {
                    if (Statuses.reasonOf(e) == RejectReason.RATE_LIMITED) {
                        limited++;
                    }
                }
            }
            assertThat(limited).isGreaterThanOrEqualTo(50);
        }
    }

    /** Finding 9: whoever could write the database could mint enrollment tokens. */
    @Test
    void tokenInsertedIntoTheDatabaseByHand_isRefused() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 0, b -> b.minClients(1))) {
            String token = "pqfl-enroll-minted-by-a-database-writer";
            try (Database db = Database.open(fed.config.effectiveJdbcUrl());
                 PreparedStatement ps = io.pqfl.coordinator.store.DatabaseTesting.connection(db).prepareStatement(
                         "INSERT INTO enrollment_tokens (token_hash, client_id, created_at, expires_at) VALUES (?, ?, ?, ?)")) {
                ps.setBytes(1, PayloadDigest.of(token.getBytes(StandardCharsets.UTF_8)).bytes());
                ps.setString(2, "sybil");
                ps.setString(3, Instant.now().toString());
                ps.setString(4, Instant.now().plus(Duration.ofHours(1)).toString());
                ps.executeUpdate();
            }
            TestClient sybil = fed.client("sybil", Keys.generate(SignatureScheme.ML_DSA_44));
            StatusRuntimeException e = assertRefused(() -> sybil.enroll(token), RejectReason.TOKEN_INVALID);
            assertThat(e.getStatus().getDescription()).contains("not signed by this coordinator's key");
            assertThat(fed.trust.find(new ClientId("sybil"))).isEmpty();
        }
    }

    /** Finding 10: a coordinator could relay another federation's challenge and log in there as the client. */
    @Test
    void proofMadeForAnotherCoordinator_isRefused() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            var c = c1.challenge();
            byte[] challenge = c.getChallenge().toByteArray();
            KeyId otherCoordinator = Keys.generate(SignatureScheme.ML_DSA_44).keyId();
            byte[] relayed = SessionStatement.prove(c.getFederationId(), otherCoordinator, c1.id, challenge, c1.key);
            assertRefused(() -> c1.hello(c1.helloRequest(null, challenge, relayed)), RejectReason.PROOF_INVALID);
        }
    }

    /** Finding 11: ledger verify trusted an "unsigned run" mark that the database writer controls. */
    @Test
    void ledgerVerify_refusesARunMarkedUnsignedInTheDatabase_unlessAskedOnPurpose() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            fed.client("c1").hello();
            fed.client("c2").hello();
            round(fed, Map.of("c1", tiny(1), "c2", tiny(3)));
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
        }
        try (Database db = Database.open(DataDirectory.of(dir.resolve("data")).jdbcUrl())) {
            try (var s = io.pqfl.coordinator.store.DatabaseTesting.connection(db).createStatement()) {
                s.executeUpdate("UPDATE runs SET config = 'unsigned=true ' || config");
            }
            LedgerVerifier.Report refused = LedgerVerifier.verify(db, null, DataDirectory.of(dir.resolve("data")).checkpoints());
            assertThat(refused.ok()).isFalse();
            assertThat(refused.problem()).contains("unsigned research baseline");
            assertThat(LedgerVerifier.verify(db, null, DataDirectory.of(dir.resolve("data")).checkpoints(), true).ok()).isTrue();
        }
    }

    /** Finding 12: one enrolled client filled the ledger with rejections at its call rate. */
    @Test
    void oneClientsRejections_areLedgeredUpToALimitPerRound_thenRefusedUpFront() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            int limited = 0;
            for (int i = 0; i < 40; i++) {
                var s = c1.prepare(t1, tiny(1), 10);
                s.header.setNonce(ByteString.copyFrom(RoundNonce.random(new SecureRandom()).bytes()));
                try {
                    c1.send(s);
                } catch (StatusRuntimeException e) {
                    if (Statuses.reasonOf(e) == RejectReason.REJECTION_LIMIT) {
                        limited++;
                    }
                }
            }
            assertThat(limited).isEqualTo(40 - 16);
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED).hasSize(16);
        }
    }

    /** Finding 13: the data directory was created with the umask when the trust directory came first. */
    @Test
    void dataDirectoryCreatedThroughItsTrustDirectory_isOwnerOnly() throws Exception {
        TrustStore.open(DataDirectory.of(dir.resolve("pqfl-data")).trust());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("pqfl-data")))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(DataDirectory.of(dir.resolve("pqfl-data")).trust())))
                .isEqualTo("rwx------");
    }

    /** Finding 15: one half-sent request blocked every scrape of the metrics endpoint. */
    @Test
    void metricsEndpoint_servesScrapesWhileARequestHangsHalfSent() throws Exception {
        try (MetricsEndpoint endpoint = new MetricsEndpoint("127.0.0.1", 0, new CoordinatorMetrics());
             Socket hanging = new Socket("127.0.0.1", endpoint.port())) {
            OutputStream out = hanging.getOutputStream();
            out.write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)); // and never the blank line
            out.flush();
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
        }
    }

    /** Informational: a header declaring another size than its manifest is refused. */
    @Test
    void headerDeclaringAnotherSizeThanItsManifest_isMalformed() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            var s = c1.prepare(c1.task(10_000), tiny(1), 10);
            s.header.setUpdateBytes(-1L); // 2^64 - 1 on the wire
            assertThat(assertRefused(() -> c1.send(s), RejectReason.TOO_LARGE).getStatus().getDescription())
                    .contains("18446744073709551615");
            var t = c1.prepare(c1.task(10_000), tiny(1), 10);
            t.header.setUpdateBytes(12);
            assertRefused(() -> c1.send(t), RejectReason.MALFORMED);
        }
    }
}
