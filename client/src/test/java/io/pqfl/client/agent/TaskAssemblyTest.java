package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.proto.v1.ModelSignature;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.WireMapping;
import org.junit.jupiter.api.Test;

/** A task stream that omits its model: allowed only for the model the request named, and then no bytes may come. */
class TaskAssemblyTest {
    static final ModelWeights HELD = ModelCacheTest.model(1);

    static TaskChunk header(boolean omitted) {
        return TaskChunk.newBuilder().setHeader(TaskHeader.newBuilder().setRound(2)
                .setManifest(WireMapping.toWire(HELD.manifest())).setModelOmitted(omitted)).build();
    }

    static TaskChunk signature() {
        return TaskChunk.newBuilder().setModelSignature(ModelSignature.newBuilder().setFederationId("f")
                .setModelRound(0).setModelDigest(ByteString.copyFrom(HELD.digest().bytes())).setScheme("ML-DSA-65")
                .setKeyId("00".repeat(16)).setLedgerHead(ByteString.copyFrom(new byte[64]))
                .setSignature(ByteString.copyFrom(new byte[8]))).build();
    }

    @Test
    void anOmittedModel_isTheHeldCopy_withTheDigestTheClientComputedForIt() {
        ModelCache.Held held = new ModelCache.Held(HELD.digest(), HELD);
        TaskAssembly a = new TaskAssembly(held);
        assertThat(a.request("c1", 1000).getHeldModelDigest().toByteArray()).isEqualTo(HELD.digest().bytes());
        assertThat(a.accept(header(true))).isNull();
        Task task = a.accept(signature());
        assertThat(task.held()).isTrue();
        assertThat(task.digest()).isEqualTo(HELD.digest());
        // The agent trains on a copy of its own, made off the transport's thread.
        assertThat(task.withOwnModel().model().tensor(0)).containsExactly(1, 1, 1).isNotSameAs(HELD.tensor(0));
    }

    @Test
    void aTaskThatOmitsAModelTheClientDidNotName_isMalformed() {
        TaskAssembly a = new TaskAssembly(null);
        assertThat(a.request("c1", 1000).getHeldModelDigest().isEmpty()).isTrue();
        assertThatThrownBy(() -> a.accept(header(true))).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
            assertThat(e.getStatus().getDescription()).contains("omitted its model");
        });
    }

    @Test
    void modelBytesAfterAHeaderThatOmittedTheModel_areMalformed() {
        TaskAssembly a = new TaskAssembly(new ModelCache.Held(HELD.digest(), HELD));
        a.accept(header(true));
        assertThatThrownBy(() -> a.accept(TaskChunk.newBuilder().setModelChunk(ByteString.copyFrom(new byte[12])).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("omitted the model"));
    }
}
