package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.proto.v1.UpdateTrailer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rejection of the upload path over real gRPC: the status code and reason are right, the ledger has
 * the rejected row, and the aggregate is unchanged (the round's model is exactly the mean of the two valid
 * updates sent afterwards).
 */
class UploadRejectionTest {
    @TempDir
    Path dir;

    /** What a case has to work with: the federation, c1's client and its task. */
    record Ctx(TestFederation fed, TestClient c1, TestClient.ReceivedTask task) {
        TestClient.Submission honest() {
            return c1.prepare(task, tiny(1), 10);
        }

        /** Re-signs the submission's (possibly altered) header fields with {@code key}, which the header names. */
        TestClient.Submission resign(TestClient.Submission s, SigningKey key, ModelWeights update) {
            UpdateStatement st = WireMapping.fromWire(s.header.build()).statement(update.digest());
            s.signature = Signer.create(key).sign(st.encode()).bytes();
            return s;
        }
    }

    interface Attack {
        void run(Ctx ctx) throws Exception;
    }

    static Stream<Arguments> attacks() {
        return Stream.of(
                // Identity (unknown client, revoked key, wrong key, scheme policy) is settled at Hello now (see
                // SessionAuthTest); an update can only name its own session's client and key.
                Arguments.of(RejectReason.SESSION_MISMATCH, (Attack) ctx -> {
                    SigningKey other = Keys.generate(SignatureScheme.ML_DSA_44);
                    var s = ctx.honest();
                    s.header.setKeyId(other.keyId().hex());
                    ctx.c1.send(ctx.resign(s, other, tiny(1)));
                }),
                Arguments.of(RejectReason.WRONG_FEDERATION, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.header.setFederationId("other-federation");
                    ctx.c1.send(ctx.resign(s, ctx.c1.key, tiny(1)));
                }),
                Arguments.of(RejectReason.STALE_ROUND, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.header.setRound(2);
                    ctx.c1.send(ctx.resign(s, ctx.c1.key, tiny(1)));
                }),
                Arguments.of(RejectReason.NOT_SAMPLED, (Attack) ctx -> {
                    SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
                    ctx.fed.enroll("late", k);
                    TestClient late = ctx.fed.client("late", k);
                    late.hello();
                    var s = ctx.honest();
                    s.header.setClientId("late").setKeyId(k.keyId().hex());
                    late.send(ctx.resign(s, k, tiny(1)));
                }),
                Arguments.of(RejectReason.NONCE_MISMATCH, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.header.setNonce(ByteString.copyFrom(RoundNonce.random(new SecureRandom()).bytes()));
                    ctx.c1.send(ctx.resign(s, ctx.c1.key, tiny(1)));
                }),
                Arguments.of(RejectReason.BASE_MODEL_MISMATCH, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.header.setBaseModelDigest(WireMapping.bytes(tiny(7).digest()));
                    ctx.c1.send(ctx.resign(s, ctx.c1.key, tiny(1)));
                }),
                Arguments.of(RejectReason.MANIFEST_MISMATCH, (Attack) ctx -> {
                    ModelManifest wrong = new ModelManifest("tiny", List.of(TensorSpec.of("w", 3, 2), TensorSpec.of("b", 3)));
                    var s = ctx.honest();
                    s.header.setManifest(WireMapping.toWire(wrong));
                    ctx.c1.send(s);
                }),
                Arguments.of(RejectReason.TOO_LARGE, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.chunks.add(new byte[8]);
                    ctx.c1.send(s);
                }),
                Arguments.of(RejectReason.INCOMPLETE, (Attack) ctx -> {
                    var s = ctx.honest();
                    s.chunks.remove(s.chunks.size() - 1);
                    ctx.c1.send(s);
                }),
                Arguments.of(RejectReason.NON_FINITE, (Attack) ctx -> {
                    ModelWeights nan = tiny(1);
                    nan.tensor(0)[3] = Float.NaN;
                    ctx.c1.submit(ctx.task, nan, 10);
                }),
                Arguments.of(RejectReason.BAD_EXAMPLE_COUNT, (Attack) ctx -> ctx.c1.submit(ctx.task, tiny(1), 0)),
                Arguments.of(RejectReason.BAD_SIGNATURE, (Attack) ctx -> {
                    // Tampering in transit: one tensor byte changes after the client signed.
                    var s = ctx.honest();
                    s.chunks.get(0)[2] ^= 0x40;
                    ctx.c1.send(s);
                }),
                Arguments.of(RejectReason.MALFORMED, (Attack) ctx -> ctx.c1.sendRaw(List.of(UpdateChunk.newBuilder()
                        .setTrailer(UpdateTrailer.newBuilder().setSignature(ByteString.copyFrom(new byte[10]))).build()))),
                Arguments.of(RejectReason.DUPLICATE, (Attack) ctx -> {
                    ctx.c1.submit(ctx.task, tiny(1), 10);
                    ctx.c1.submit(ctx.task, tiny(1), 10);
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attacks")
    void rejectedUpdate_getsItsStatus_isLedgered_andDoesNotReachTheModel(RejectReason reason, Attack attack) throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);

            assertThatThrownBy(() -> attack.run(new Ctx(fed, c1, t1)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Statuses.code(reason));
                        assertThat(Statuses.reasonOf(e)).isEqualTo(reason);
                        assertThat(e.getStatus().getDescription()).startsWith(reason.name() + ": ");
                    });

            if (reason != RejectReason.DUPLICATE) {
                c1.submit(t1, tiny(1), 10);
            }
            // The answer carries the digest the coordinator computed over the bytes it received.
            assertThat(c2.submit(t2, tiny(3), 10).getUpdateDigest().toByteArray()).isEqualTo(tiny(3).digest().bytes());
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            ModelWeights global = fed.global();
            assertThat(global.tensor(0)).containsExactly(tiny(2).tensor(0));
            assertThat(global.tensor(1)).containsExactly(tiny(2).tensor(1));
            List<LedgerEntry> ledger = fed.coordinator.ledger().entries();
            assertThat(ledger).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(reason.name()));
            assertThat(ledger).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
            assertThat(fed.metrics.count("pqfl.updates", "outcome", "rejected", "reason", reason.name())).isEqualTo(1.0);
        }
    }

    @Test
    void updateLargerThanTheConfiguredLimit_isRefusedAtTheHeader() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.maxUpdateBytes(32))) {
            TestClient c1 = fed.client("c1");
            fed.client("c2").hello();
            c1.hello();
            TestClient.ReceivedTask t1 = c1.task(10_000);
            assertThatThrownBy(() -> c1.submit(t1, tiny(1), 10)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(e.getStatus().getDescription()).contains("exceeds the limit of 32");
            });
        }
    }
}
