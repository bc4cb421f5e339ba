package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.proto.v1.TaskRequest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task for a model the client says it holds ({@code TaskRequest.held_model_digest}) comes without the model's
 * bytes, over a real socket; the task and model statements still bind the model, so they verify over the held
 * digest and no other; anything but the task's own model gets the bytes; a malformed digest is refused.
 */
class HeldModelTaskTest {
    @TempDir
    Path dir;

    @Test
    void aClientHoldingTheTasksModel_getsTheTaskWithoutItsBytes_andItsUpdateFromTheHeldModelIsAccepted() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 1, b -> b.minClients(1))) {
            TestClient c = fed.client("c1");
            c.hello();
            TestClient.ReceivedTask first = c.task(10_000);
            assertThat(first.header().getModelOmitted()).isFalse();
            assertThat(first.chunks()).isNotEmpty();

            // The same round's task again, naming the model the client now holds.
            TestClient.ReceivedTask again = c.task(10_000, first.digest());
            assertThat(again.header().getModelOmitted()).isTrue();
            assertThat(again.chunks()).isEmpty();
            var key = fed.coordinatorKey.verifyingKey();
            TaskStatement statement = WireMapping.taskStatement(again.header(), first.digest(), key.scheme(), key.keyId());
            statement.verify(key, again.header().getSignature().toByteArray());
            again.signed().verify(key, ProtocolFixtures.FEDERATION, first.digest());
            // Over any other model, neither verifies: a held copy that is not the coordinator's model is refused.
            PayloadDigest other = ModelWeights.zeros(first.model().manifest()).digest();
            assertThat(other).isNotEqualTo(first.digest());
            assertThatThrownBy(() -> WireMapping.taskStatement(again.header(), other, key.scheme(), key.keyId())
                    .verify(key, again.header().getSignature().toByteArray())).isInstanceOf(ModelRejectedException.class);
            assertThatThrownBy(() -> again.signed().verify(key, ProtocolFixtures.FEDERATION, other))
                    .isInstanceOf(ModelRejectedException.class);

            // Trained from the held copy, the update names the same base model and is accepted.
            TestClient.ReceivedTask held = new TestClient.ReceivedTask(again.header(), first.model(), first.digest(),
                    again.signed(), again.chunks());
            assertThat(c.submit(held, first.model(), 10).getAccepted()).isTrue();

            var registry = fed.metrics.registry();
            assertThat(registry.get("pqfl.tasks").tag("model", "held").counter().count()).isEqualTo(1.0);
            assertThat(registry.get("pqfl.tasks").tag("model", "sent").counter().count()).isEqualTo(1.0);
            assertThat(registry.get("pqfl.bytes.sent").counter().count())
                    .isEqualTo((double) first.model().manifest().totalBytes());
        }
    }

    @Test
    void aDigestOfAnyOtherModel_getsTheModelSent() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 1, b -> b.minClients(1))) {
            TestClient c = fed.client("c1");
            c.hello();
            // 64 bytes that name no model, then the digest of another model of the same manifest.
            TestClient.ReceivedTask task = c.task(10_000, PayloadDigest.ofBytes(new byte[PayloadDigest.BYTES]));
            assertThat(task.header().getModelOmitted()).isFalse();
            assertThat(task.chunks()).isNotEmpty();
            PayloadDigest other = ProtocolFixtures.tiny(1).digest();
            assertThat(other).isNotEqualTo(task.digest());
            TestClient.ReceivedTask again = c.task(10_000, other);
            assertThat(again.header().getModelOmitted()).isFalse();
            assertThat(again.chunks()).isNotEmpty();
            assertThat(again.digest()).isEqualTo(task.digest());
        }
    }

    @Test
    void aHeldDigestOfTheWrongLength_isRefusedMalformed_withItsLength() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 1, b -> b.minClients(1))) {
            TestClient c = fed.client("c1");
            c.hello();
            var request = TaskRequest.newBuilder().setClientId("c1").setWaitMs(5_000)
                    .setHeldModelDigest(ByteString.copyFrom(new byte[10])).build();
            assertThatThrownBy(() -> c.blockingStub().getTask(request).next())
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains("MALFORMED")
                                .contains("held_model_digest must be empty or 64 bytes, got 10");
                    });
            // Refused before it waited or took a slot: a proper request still gets the task.
            assertThat(c.task(10_000).chunks()).isNotEmpty();
        }
    }
}
