package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Signer;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TaskKind;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.TrainingConfig;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One round's task: for each sampled client, a task statement (round, nonce, the training configuration the
 * strategy chose for it, the global model's round and digest, the deadline) signed by the coordinator once, on
 * first request; and the global model everyone trains from. Shared and immutable but for the cache of signed
 * statements. The transport turns it into messages.
 */
public final class RoundTask {
    /** A client's task statement with the coordinator's signature over it. */
    public record Signed(TaskStatement statement, byte[] signature) {
    }

    private final String federationId;
    private final TaskKind kind;
    private volatile boolean secureAggregation;
    private final RoundPlan plan;
    private final GlobalModel global;
    private final Signer signer;
    private final Function<ClientId, TrainingConfig> configs;
    private final Map<ClientId, Signed> signed = new ConcurrentHashMap<>();

    RoundTask(String federationId, RoundPlan plan, GlobalModel global, Signer signer,
              Function<ClientId, TrainingConfig> configs) {
        this(federationId, TaskKind.TRAIN, plan, global, signer, configs);
    }

    /** {@code kind} EVALUATE: the evaluation of {@code global}, the model of {@code plan.round()}. */
    RoundTask(String federationId, TaskKind kind, RoundPlan plan, GlobalModel global, Signer signer,
              Function<ClientId, TrainingConfig> configs) {
        this.federationId = Objects.requireNonNull(federationId, "federationId");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.plan = Objects.requireNonNull(plan, "plan");
        this.global = Objects.requireNonNull(global, "global");
        this.signer = Objects.requireNonNull(signer, "signer");
        this.configs = Objects.requireNonNull(configs, "configs");
    }

    /** {@code client}'s signed task statement: signed once per round and client. */
    public Signed statementFor(ClientId client) {
        return signed.computeIfAbsent(client, c -> {
            TaskStatement s = new TaskStatement(federationId, kind, plan.round(), plan.nonce(), c, global.round(),
                    global.signed().statement().modelDigest(), configs.apply(c), plan.deadline().toEpochMilli(),
                    signer.scheme(), signer.keyId());
            return new Signed(s, signer.sign(s.encode()).bytes());
        });
    }

    public TaskKind kind() {
        return kind;
    }

    /** Whether the round runs secure aggregation (the task header says so; the setup of phase 1 is signed). */
    public boolean secureAggregation() {
        return secureAggregation;
    }

    RoundTask withSecureAggregation() {
        this.secureAggregation = true;
        return this;
    }

    public ModelManifest manifest() {
        return global.weights().manifest();
    }

    /** The global model's wire bytes in chunks (read-only views; each call returns fresh views). */
    public List<ByteBuffer> modelChunks() {
        return global.chunks().stream().map(ByteBuffer::asReadOnlyBuffer).toList();
    }

    public SignedModel model() {
        return global.signed();
    }
}
