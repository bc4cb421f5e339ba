package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.protocol.WireMapping;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One ModelCache shared by agents of different federations (or pinning different coordinator keys): were it keyed by
 * digest only, an agent of federation f2 would name to f2's coordinator the digest of the model an agent of f1
 * verified, and f2's coordinator (which never had f1's model) could sign a task over that digest with model_omitted:
 * the f2 agent would train on f1's global model and upload the result to f2. Each agent sees only the models of its
 * own pinned key and federation.
 */
class SharedModelCacheFederationsTest {
    static final SigningKey F1_COORDINATOR = Keys.generate(SignatureScheme.ML_DSA_65);
    static final SigningKey F2_COORDINATOR = Keys.generate(SignatureScheme.ML_DSA_65);
    static final ModelWeights F1_MODEL = ModelCacheTest.model(7); // f1's global model, secret to f1's clients

    static ClientAgent.Settings settings(String client, SigningKey coordinator) {
        return ClientAgent.Settings.builder(new ClientId(client), Keys.generate(SignatureScheme.ML_DSA_65),
                coordinator.verifyingKey()).build();
    }

    /** What a coordinator holding {@code key} streams for a task over {@code model}, omitting the bytes. */
    static List<TaskChunk> omittedTask(SigningKey key, String federation, String client, ModelWeights model) {
        ModelStatement ms = new ModelStatement(federation, 0, model.digest(), null, LedgerHead.EMPTY, List.of(),
                key.scheme(), key.keyId());
        SignedModel signed = new SignedModel(ms, Signer.create(key).sign(ms.encode()));
        TaskStatement ts = new TaskStatement(federation, 1, RoundNonce.of(new byte[RoundNonce.BYTES]),
                new ClientId(client), 0, model.digest(), TrainingConfig.defaults(),
                System.currentTimeMillis() + 60_000, key.scheme(), key.keyId());
        return List.of(
                TaskChunk.newBuilder().setHeader(WireMapping.toWire(ts, model.manifest(),
                        Signer.create(key).sign(ts.encode()).bytes()).toBuilder().setModelOmitted(true)).build(),
                TaskChunk.newBuilder().setModelSignature(WireMapping.toWire(signed)).build());
    }

    static ModelCache hostCacheAfterF1AgentVerified() throws Exception {
        ModelCache shared = ModelCache.holding(2);
        // Agent a1 of federation f1 verifies f1's model as RoundLoop does, then caches it.
        ClientAgent.Settings a1 = settings("a1", F1_COORDINATOR);
        TaskAssembly asm = new TaskAssembly(null);
        Task t = null;
        var full = omittedTask(F1_COORDINATOR, "f1", "a1", F1_MODEL);
        asm.accept(full.get(0).toBuilder().setHeader(full.get(0).getHeader().toBuilder().setModelOmitted(false)).build());
        asm.accept(TaskChunk.newBuilder().setModelChunk(com.google.protobuf.ByteString.copyFrom(F1_MODEL.toBytes())).build());
        t = asm.accept(full.get(1));
        new TaskVerifier(a1, ClientState.inMemory(), F1_MODEL.manifest()).check(t, "f1");
        shared.put(new ModelCache.Scope(F1_COORDINATOR.keyId(), "f1"), t.digest(), 0, t.model());
        return shared;
    }

    @Test
    void anAgentOfAnotherFederation_doesNotNameToItsCoordinatorAModelOfAnotherFederation() throws Exception {
        ModelCache shared = hostCacheAfterF1AgentVerified();
        // Agent b of federation f2 (pinned key: f2's coordinator) polls with the same cache.
        TaskRequest request = new TaskAssembly(shared.newest(new ModelCache.Scope(F2_COORDINATOR.keyId(), "f2"))).request("b", 1000);
        assertThat(request.getHeldModelDigest().isEmpty())
                .as("b's GetTask to f2's coordinator names the digest of f1's model (%s...)",
                        F1_MODEL.digest().hex().substring(0, 16))
                .isTrue();
    }

    @Test
    void aCoordinatorOfAnotherFederation_cannotMakeAnAgentTrainOnAModelItNeverSent() throws Exception {
        ModelCache shared = hostCacheAfterF1AgentVerified();
        ClientAgent.Settings b = settings("b", F2_COORDINATOR);
        TaskVerifier verifier = new TaskVerifier(b, ClientState.inMemory(), F1_MODEL.manifest());
        TaskAssembly asm = new TaskAssembly(shared.newest(new ModelCache.Scope(F2_COORDINATOR.keyId(), "f2")));
        // Had f2's coordinator learned the digest, it could sign a task over it with its own key; b names no model of
        // f1, so a task that omits its model is malformed for b, and b trains on nothing of f1's.
        assertThatThrownBy(() -> {
            for (TaskChunk c : omittedTask(F2_COORDINATOR, "f2", "b", F1_MODEL.copy())) {
                Task task = asm.accept(c);
                if (task != null) {
                    verifier.check(task, "f2");
                }
            }
        }).isInstanceOf(io.grpc.StatusRuntimeException.class).hasMessageContaining("omitted its model");
    }
}
