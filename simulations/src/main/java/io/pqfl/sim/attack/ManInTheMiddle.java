package io.pqfl.sim.attack;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.proto.v1.UpdateTrailer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An attacker on one client's connection to the coordinator. For the updates the {@link AttackPlan} picks,
 * it rewrites the outgoing update stream: TAMPER alters the tensor bytes and keeps the signature; REPLAY
 * substitutes the tensors and signature the same client sent in an earlier round; FORGE substitutes
 * attacker tensors and a made-up signature; UNENROLLED submits attacker tensors in the client's slot,
 * signed with an outsider's key that the coordinator never enrolled. Counts what it did.
 */
public final class ManInTheMiddle implements ClientInterceptor {
    private final AttackPlan plan;
    private final int clientIndex;
    private final SigningKey outsiderKey;
    private final SecureRandom random = new SecureRandom();
    private List<ByteString> capturedChunks = new ArrayList<>();
    private ByteString capturedSignature;
    private final AtomicInteger attacks = new AtomicInteger();
    private final java.util.Map<Long, AttackPlan.Attack> applied = new java.util.concurrent.ConcurrentHashMap<>();

    public ManInTheMiddle(AttackPlan plan, int clientIndex, SigningKey outsiderKey) {
        this.plan = plan;
        this.clientIndex = clientIndex;
        this.outsiderKey = outsiderKey;
    }

    public int attacks() {
        return attacks.get();
    }

    /** The attack actually mounted on this client's update in {@code round} (NONE if it went through untouched). */
    public AttackPlan.Attack appliedIn(long round) {
        return applied.getOrDefault(round, AttackPlan.Attack.NONE);
    }

    /** Multiplies every float32 of a little-endian chunk by {@code factor}. */
    static ByteString scale(ByteString chunk, float factor) {
        ByteBuffer in = chunk.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(chunk.size()).order(ByteOrder.LITTLE_ENDIAN);
        while (in.remaining() >= 4) {
            out.putFloat(in.getFloat() * factor);
        }
        while (in.hasRemaining()) {
            out.put(in.get());
        }
        return ByteString.copyFrom(out.array());
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(method, options);
        if (!method.getBareMethodName().equals("SubmitUpdate")) {
            return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            private AttackPlan.Attack attack = AttackPlan.Attack.NONE;
            private final List<ByteString> chunks = new ArrayList<>();
            private UpdateHeader header;
            private int chunkIndex;
            private boolean replayable;

            @Override
            @SuppressWarnings("unchecked")
            public void sendMessage(Q message) {
                UpdateChunk m = (UpdateChunk) message;
                super.sendMessage((Q) rewrite(m));
            }

            private UpdateChunk rewrite(UpdateChunk m) {
                switch (m.getPartCase()) {
                    case HEADER -> {
                        header = m.getHeader();
                        attack = plan.decide(clientIndex, header.getRound());
                        replayable = !capturedChunks.isEmpty();
                        if (attack == AttackPlan.Attack.REPLAY && !replayable) {
                            attack = AttackPlan.Attack.NONE;
                        }
                        if (attack == AttackPlan.Attack.POISON) {
                            attack = AttackPlan.Attack.NONE; // poisoning is the client's own doing, not the wire's
                        }
                        if (attack != AttackPlan.Attack.NONE) {
                            attacks.incrementAndGet();
                        }
                        applied.put(header.getRound(), attack);
                        if (attack == AttackPlan.Attack.UNENROLLED) {
                            // The outsider takes the sampled client's slot with a key the coordinator never enrolled
                            // (in an unsigned arm too, whose header announced no key until now).
                            header = header.toBuilder().setKeyId(outsiderKey.keyId().hex())
                                    .setScheme(outsiderKey.scheme().displayName()).build();
                            return UpdateChunk.newBuilder().setHeader(header).build();
                        }
                        return m;
                    }
                    case TENSOR_CHUNK -> {
                        ByteString honest = m.getTensorChunk();
                        chunks.add(honest);
                        ByteString sent = switch (attack) {
                            case TAMPER, FORGE, UNENROLLED -> scale(honest, -10f);
                            case REPLAY -> chunkIndex < capturedChunks.size() ? capturedChunks.get(chunkIndex) : honest;
                            default -> honest;
                        };
                        chunkIndex++;
                        return UpdateChunk.newBuilder().setTensorChunk(sent).build();
                    }
                    case TRAILER -> {
                        ByteString honestSignature = m.getTrailer().getSignature();
                        ByteString sent = switch (attack) {
                            case REPLAY -> capturedSignature;
                            case FORGE -> {
                                byte[] fake = new byte[Math.max(1, honestSignature.size())];
                                random.nextBytes(fake);
                                yield honestSignature.isEmpty() ? ByteString.EMPTY : ByteString.copyFrom(fake);
                            }
                            case UNENROLLED -> resignAsOutsider(honestSignature.isEmpty());
                            default -> honestSignature;
                        };
                        if (attack == AttackPlan.Attack.NONE) {
                            capturedChunks = new ArrayList<>(chunks);
                            capturedSignature = honestSignature;
                        }
                        return UpdateChunk.newBuilder().setTrailer(UpdateTrailer.newBuilder().setSignature(sent)).build();
                    }
                    default -> {
                        return m;
                    }
                }
            }

            private ByteString resignAsOutsider(boolean unsigned) {
                if (unsigned) {
                    return ByteString.EMPTY;
                }
                io.pqfl.crypto.PayloadHasher h = new io.pqfl.crypto.PayloadHasher()
                        .update(WireMapping.fromWire(header.getManifest()).encode());
                chunks.forEach(c -> h.update(c.toByteArray()));
                // The header already names the outsider's key (rewritten above).
                UpdateStatement st = WireMapping.fromWire(header).statement(h.finish());
                return ByteString.copyFrom(Signer.create(outsiderKey).sign(st.encode()).bytes());
            }
        };
    }
}
