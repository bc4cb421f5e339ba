package io.pqfl.coordinator.round;

import com.google.protobuf.ByteString;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.ModelSignature;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.WireMapping;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One round's task: the header every sampled client gets (with its own client id and the coordinator's
 * signature over the task statement, made once per client on first request), the global model's chunks and
 * its signed model statement. Shared and immutable but for the cache of signed headers.
 */
public final class Task {
    private final TaskHeader template;
    private final List<ByteString> modelChunks;
    private final ModelSignature signature;
    private final PayloadDigest modelDigest;
    private final Signer signer;
    private final Map<ClientId, TaskHeader> signed = new ConcurrentHashMap<>();

    Task(TaskHeader template, List<ByteString> modelChunks, ModelSignature signature, PayloadDigest modelDigest,
         Signer signer) {
        this.template = Objects.requireNonNull(template, "template");
        this.modelChunks = List.copyOf(modelChunks);
        this.signature = Objects.requireNonNull(signature, "signature");
        this.modelDigest = Objects.requireNonNull(modelDigest, "modelDigest");
        this.signer = Objects.requireNonNull(signer, "signer");
    }

    /** The signed header for {@code client}: its task statement is signed once and kept for the round. */
    public TaskHeader headerFor(ClientId client) {
        return signed.computeIfAbsent(client, c -> {
            TaskHeader h = template.toBuilder().setClientId(c.value()).build();
            TaskStatement statement = WireMapping.taskStatement(h, modelDigest, signer.scheme(), signer.keyId());
            return h.toBuilder().setSignature(ByteString.copyFrom(signer.sign(statement.encode()).bytes())).build();
        });
    }

    public List<ByteString> modelChunks() {
        return modelChunks;
    }

    public ModelSignature signature() {
        return signature;
    }
}
