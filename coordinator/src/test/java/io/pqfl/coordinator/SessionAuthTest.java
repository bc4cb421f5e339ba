package io.pqfl.coordinator;

import static io.pqfl.coordinator.Refusals.assertRefused;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SessionStatement;
import io.pqfl.protocol.WireMapping;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * The attacks of the coordinator review, run against a real coordinator over a real socket: each shows the
 * attack now fails, with its reason, and that the victim is not hurt. (docs/SECURITY.md lists them.)
 */
class SessionAuthTest {
    @TempDir
    Path dir;

    /** An upload stream whose outcome can be awaited; for streams a test keeps open on purpose. */
    static final class OpenUpload {
        final CompletableFuture<SubmitResponse> outcome = new CompletableFuture<>();
        final StreamObserver<UpdateChunk> stream;

        OpenUpload(TestClient client, io.grpc.Channel channel) {
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

        Throwable failure() throws Exception {
            try {
                outcome.get(20, TimeUnit.SECONDS);
                throw new AssertionError("the upload was accepted");
            } catch (ExecutionException e) {
                return e.getCause();
            }
        }
    }

    @Test
    void stranger_withoutASession_canNeitherFetchATaskNorTakeAnUploadSlot_andTheVictimSubmits() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.Submission honest = c1.prepare(t1, tiny(1), 10);

            // The stranger names c1, with no session and then with a made-up one.
            TestClient stranger = new TestClient(fed.channel, "c1", Keys.generate(SignatureScheme.ML_DSA_44));
            assertRefused(() -> stranger.task(1_000), RejectReason.SESSION_INVALID);
            stranger.session("bm90LWEtc2Vzc2lvbg");
            assertRefused(() -> stranger.task(1_000), RejectReason.SESSION_INVALID);
            // Thirty header-only streams in c1's name: each is closed before its header is read.
            List<OpenUpload> floods = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                OpenUpload u = new OpenUpload(stranger, fed.channel);
                u.stream.onNext(UpdateChunk.newBuilder().setHeader(honest.header).build());
                floods.add(u);
            }
            for (OpenUpload u : floods) {
                assertThat(u.failure()).hasMessageStartingWith("UNAUTHENTICATED: SESSION_INVALID");
            }
            assertThat(fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value()).isZero();

            c1.send(honest);
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
            // Nothing the stranger sent reached the ledger.
            assertThat(fed.coordinator.ledger().entries()).noneMatch(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED);
        }
    }

    @Test
    void enrolledClient_cannotActForAnother_withItsOwnSession() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);

            // c2 presents its own session but asks for c1's task, then uploads an update in c1's name.
            TestClient c2AsC1 = new TestClient(fed.channel, "c1", fed.clientKeys.get("c1"));
            c2AsC1.session(c2.session());
            assertRefused(() -> c2AsC1.task(1_000), RejectReason.SESSION_MISMATCH);
            assertRefused(() -> c2.send(c1.prepare(t1, tiny(9), 10)), RejectReason.SESSION_MISMATCH);

            c1.submit(t1, tiny(1), 10);
            c2.submit(t2, tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
            // The refusal is ledgered under the session's client, c2.
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .singleElement().satisfies(e -> {
                        assertThat(e.clientId()).isEqualTo("c2");
                        assertThat(e.reason()).isEqualTo("SESSION_MISMATCH");
                    });
        }
    }

    @Test
    void hello_needsAFreshChallengeAndAProofOfPossession_andCannotBeReplayed() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            SigningKey other = Keys.generate(SignatureScheme.ML_DSA_44);
            var challenge = c1.challenge();
            byte[] c = challenge.getChallenge().toByteArray();
            String federation = challenge.getFederationId();

            // No challenge, a made-up one, and one issued for another client.
            assertRefused(() -> c1.hello(c1.helloRequest(null, new byte[0], new byte[0])), RejectReason.CHALLENGE_INVALID);
            byte[] madeUp = c.clone();
            madeUp[20] ^= 1;
            assertRefused(() -> c1.hello(c1.helloRequest(null, madeUp,
                    SessionStatement.prove(federation, TestClient.COORDINATOR, c1.id, madeUp, c1.key))), RejectReason.CHALLENGE_INVALID);
            byte[] forC2 = fed.client("c2").challenge().getChallenge().toByteArray();
            assertRefused(() -> c1.hello(c1.helloRequest(null, forC2,
                    SessionStatement.prove(federation, TestClient.COORDINATOR, c1.id, forC2, c1.key))), RejectReason.CHALLENGE_INVALID);
            // Anyone can name c1 and its key id; without c1's private key the proof does not verify.
            var forged = new SessionStatement(federation, TestClient.COORDINATOR, c1.id, c1.key.keyId(), c1.key.scheme(), c);
            byte[] forgedProof = io.pqfl.crypto.Signer.create(other).sign(forged.encode()).bytes();
            assertRefused(() -> c1.hello(c1.helloRequest(null, c, forgedProof)), RejectReason.PROOF_INVALID);
            assertThat(c1.session()).isNull();

            // The honest proof opens a session once; the same Hello replayed is refused.
            var request = c1.helloRequest(null, c, SessionStatement.prove(federation, TestClient.COORDINATOR, c1.id, c, c1.key));
            assertThat(c1.hello(request).getSessionToken()).isNotEmpty();
            TestClient replayer = new TestClient(fed.channel, "c1", other);
            assertRefused(() -> replayer.hello(request), RejectReason.CHALLENGE_INVALID);
            assertThat(replayer.session()).isNull();
        }
    }

    static Stream<Arguments> identities() {
        return Stream.of(
                Arguments.of(RejectReason.UNKNOWN_CLIENT, (IdentityCase) fed -> {
                    SigningKey mallory = Keys.generate(SignatureScheme.ML_DSA_44);
                    return fed.client("mallory", mallory);
                }),
                Arguments.of(RejectReason.REVOKED_KEY, (IdentityCase) fed -> {
                    fed.trust.revoke(new ClientId("c1"), "test");
                    return fed.client("c1");
                }),
                Arguments.of(RejectReason.KEY_MISMATCH, (IdentityCase) fed -> fed.client("c1",
                        Keys.generate(SignatureScheme.ML_DSA_44))),
                Arguments.of(RejectReason.SCHEME_NOT_ACCEPTED, (IdentityCase) fed -> {
                    SigningKey ed = Keys.generate(SignatureScheme.ED25519);
                    fed.enroll("ed", ed);
                    return fed.client("ed", ed);
                }));
    }

    interface IdentityCase {
        TestClient client(TestFederation fed) throws Exception;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("identities")
    void helloOfAClientThatMayNotTakePart_isRefusedWithItsReason(RejectReason reason, IdentityCase c) throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient client = c.client(fed);
            assertRefused(client::hello, reason);
            assertThat(client.session()).isNull();
        }
    }

    @Test
    void clientWhoseUploadStalls_isCutOffWithinTheIdleTimeout_andRetriesAtOnce() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.uploadIdleTimeout(Duration.ofMillis(500)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.Submission s = c1.prepare(t1, tiny(1), 10);

            OpenUpload stalled = new OpenUpload(c1, fed.channel);
            stalled.stream.onNext(UpdateChunk.newBuilder().setHeader(s.header).build());
            stalled.stream.onNext(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(s.chunks.get(0))).build());
            // ...and then nothing: cut off long before the round's deadline (20 s here).
            assertThat(stalled.failure()).hasMessageContaining("INCOMPLETE").hasMessageContaining("sent nothing for");
            assertThat(fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value()).isZero();

            c1.send(s);
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
        }
    }

    @Test
    void newerUploadOfTheSameClient_supersedesOneInProgress() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.Submission s = c1.prepare(t1, tiny(1), 10);

            // A connection that broke silently left an upload open; the client retries on a new one.
            OpenUpload abandoned = new OpenUpload(c1, fed.channel);
            abandoned.stream.onNext(UpdateChunk.newBuilder().setHeader(s.header).build());
            Await.until(Duration.ofSeconds(5), "the first upload to hold a slot",
                    () -> fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value() == 1.0);
            c1.send(s);
            abandoned.stream.onNext(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(s.chunks.get(0))).build());
            assertThat(abandoned.failure()).hasMessageContaining("INCOMPLETE").hasMessageContaining("superseded");

            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
        }
    }

    @Test
    void uploadsBeyondTheBudget_areRefusedBusy_andTheSlotIsFreeAgainAfterwards() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.uploadLimits(1, 1 << 20))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);
            TestClient.Submission s1 = c1.prepare(t1, tiny(1), 10);

            OpenUpload first = new OpenUpload(c1, fed.channel);
            first.stream.onNext(UpdateChunk.newBuilder().setHeader(s1.header).build());
            Await.until(Duration.ofSeconds(5), "c1's upload to hold the only slot",
                    () -> fed.metrics.registry().get("pqfl.uploads.in.progress").gauge().value() == 1.0);
            assertRefused(() -> c2.submit(t2, tiny(3), 10), RejectReason.BUSY);

            for (byte[] chunk : s1.chunks) {
                first.stream.onNext(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(chunk)).build());
            }
            first.stream.onNext(UpdateChunk.newBuilder().setTrailer(io.pqfl.proto.v1.UpdateTrailer.newBuilder()
                    .setSignature(ByteString.copyFrom(s1.signature))).build());
            first.stream.onCompleted();
            assertThat(first.outcome.get(10, TimeUnit.SECONDS).getAccepted()).isTrue();
            c2.submit(t2, tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
        }
    }

    @Test
    void revokingAKeyInTheTrustDirectory_shutsOutARunningClientWithinSeconds() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.trustReloadInterval(Duration.ofMillis(200)))) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);

            // What `pqfl trust revoke` does: another process writes the directory.
            TrustStore.open(fed.config.trustDir()).revoke(new ClientId("c1"), "key lost");
            Await.until(Duration.ofSeconds(10), "the running coordinator to see the revocation",
                    () -> fed.trust.find(new ClientId("c1")).orElseThrow().revoked());
            assertRefused(() -> c1.submit(t1, tiny(1), 10), RejectReason.REVOKED_KEY);
            assertRefused(c1::hello, RejectReason.REVOKED_KEY);
            assertThat(fed.coordinator.ledger().entries()).noneMatch(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED);
        }
    }

    @Test
    void hostileHeaderText_reachesLogAndLedgerEscapedAndBounded() throws Exception {
        Logger engineLog = (Logger) LoggerFactory.getLogger(io.pqfl.coordinator.round.FederationEngine.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        engineLog.addAppender(logs);
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            fed.client("c2").hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);

            // A client id that would forge a log line, and a megabyte of federation id.
            var forged = c1.prepare(t1, tiny(1), 10);
            forged.header.setClientId("c1\n12:00:00 INFO Accepted update from c9");
            assertRefused(() -> c1.send(forged), RejectReason.MALFORMED);
            var huge = c1.prepare(t1, tiny(1), 10);
            huge.header.setFederationId("x".repeat(1 << 20));
            assertRefused(() -> c1.send(huge), RejectReason.WRONG_FEDERATION);

            List<LedgerEntry> rejected = fed.coordinator.ledger().entries().stream()
                    .filter(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED).toList();
            assertThat(rejected).hasSize(2).allSatisfy(e -> {
                assertThat(e.clientId()).isEqualTo("c1");
                assertThat(e.detail()).doesNotContain("\n").hasSizeLessThan(700);
            });
            assertThat(logs.list).extracting(ILoggingEvent::getFormattedMessage)
                    .allSatisfy(m -> assertThat(m).doesNotContain("\n").hasSizeLessThan(2_000));
        } finally {
            engineLog.detachAppender(logs);
        }
    }

    @Test
    void taskAndUploadCallsFromOneAddress_areRateLimited() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.callRateLimit(1, 3))) {
            TestClient c1 = fed.client("c1");
            c1.hello();
            int limited = 0;
            for (int i = 0; i < 10; i++) {
                try {
                    c1.task(0);
                } catch (io.grpc.StatusRuntimeException e) {
                    if (io.pqfl.coordinator.server.Statuses.reasonOf(e) == RejectReason.RATE_LIMITED) {
                        limited++;
                    }
                }
            }
            assertThat(limited).isGreaterThanOrEqualTo(5);
        }
    }

    @Test
    void updateThatRelabelsTheModel_isRefused_andTheGlobalModelKeepsTheRoundsManifest() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            ModelWeights relabelled = ModelWeights.of(new ModelManifest("evil-net", tiny(1).manifest().tensors()),
                    new float[][] {tiny(1).tensor(0), tiny(1).tensor(1)});
            var s = c1.prepare(t1, relabelled, 10);
            assertThat(assertRefused(() -> c1.send(s), RejectReason.MANIFEST_MISMATCH).getStatus().getDescription())
                    .contains("architecture label 'evil-net'");

            c1.submit(t1, tiny(1), 10);
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().manifest()).isEqualTo(tiny(0).manifest());
            assertThat(WireMapping.fromWire(WireMapping.toWire(fed.global().manifest())).architecture()).isEqualTo("tiny");
        }
    }

    @Test
    void exampleCountsAboveTheBound_areRefused_andEqualWeightingIgnoresThem() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.maxExamplesPerUpdate(1_000)
                .strategyParams(java.util.Map.of("weighting", "equal")))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            assertRefused(() -> c1.submit(t1, tiny(100), 1_000_000_000_000L), RejectReason.BAD_EXAMPLE_COUNT);
            assertRefused(() -> c1.submit(t1, tiny(100), Long.MAX_VALUE), RejectReason.BAD_EXAMPLE_COUNT);

            // 1000 examples against 1: weighted equally, the mean is the plain average.
            c1.submit(t1, tiny(1), 1_000);
            c2.submit(c2.task(10_000), tiny(3), 1);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(2).tensor(0));
        }
    }

    @Test
    void aggregateThatOverflowsToInfinity_isNotSigned_andTheRoundIsSkippedWithItsReason() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            ModelWeights before = fed.global().copy();
            // Finite updates whose mean overflows float32.
            c1.submit(c1.task(10_000), tiny(3e38f), 10);
            c2.submit(c2.task(10_000), tiny(-3e38f), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            assertThat(fed.global().tensor(0)).containsExactly(before.tensor(0));
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.ROUND_SKIPPED)
                    .singleElement().satisfies(e -> {
                        assertThat(e.reason()).isEqualTo("BAD_AGGREGATE");
                        assertThat(e.detail()).startsWith("NON_FINITE");
                    });
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED).hasSize(1);
        }
    }

    @Test
    void oversizedRequestMetadata_isRefused() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            c1.session("x".repeat(64 << 10));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> c1.task(1_000))
                    .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isIn(io.grpc.Status.Code.RESOURCE_EXHAUSTED, io.grpc.Status.Code.INTERNAL));
            c1.session(null);
            assertThat(c1.hello().getSessionToken()).isNotEmpty(); // the connection and the server are fine
        }
    }
}
