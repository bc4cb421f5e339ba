package io.pqfl.coordinator;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.grpc.Metadata;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.pqfl.proto.v1.Challenge;
import io.pqfl.proto.v1.ChallengeRequest;
import io.pqfl.proto.v1.EnrollmentChallenge;
import io.pqfl.proto.v1.EnrollmentProof;
import io.pqfl.proto.v1.EnrollmentRequest;
import io.pqfl.proto.v1.EnrollmentResult;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.HelloRequest;
import io.pqfl.proto.v1.HelloResponse;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.proto.v1.UpdateTrailer;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SessionStatement;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** A protocol-level test client built from the generated stubs and the crypto module; it can also misbehave. */
public final class TestClient {
    final ClientId id;
    final SigningKey key;
    private final FederationGrpc.FederationBlockingStub blocking;
    private final FederationGrpc.FederationStub async;

    TestClient(ManagedChannel channel, String id, SigningKey key) {
        this(channel, id, key, new java.util.concurrent.ConcurrentHashMap<>());
    }

    /** A client whose session is kept in {@code sessions} (shared by the fixtures, so any handle on "c1" has c1's). */
    TestClient(ManagedChannel channel, String id, SigningKey key, java.util.Map<String, String> sessions) {
        this.sessions = sessions;
        this.id = new ClientId(id);
        this.key = key;
        this.blocking = FederationGrpc.newBlockingStub(channel);
        this.async = FederationGrpc.newStub(channel);
    }

    /** Session tokens of the last successful Hello, by client id; sent with GetTask and SubmitUpdate. */
    private final java.util.Map<String, String> sessions;

    String session() {
        return sessions.get(id.value());
    }

    /** Replaces this client's session token (null: calls go without one). */
    void session(String token) {
        if (token == null) {
            sessions.remove(id.value());
        } else {
            sessions.put(id.value(), token);
        }
    }

    /** The honest Hello: a challenge, the proof of possession over it, and the session it opens. */
    public HelloResponse hello() {
        return hello((byte[]) null);
    }

    /** Hello carrying the client's federation certificate (DER); null for none. */
    HelloResponse hello(byte[] certificate) {
        Challenge c = challenge();
        byte[] proof = SessionStatement.prove(c.getFederationId(), COORDINATOR, id, c.getChallenge().toByteArray(), key);
        return hello(helloRequest(certificate, c.getChallenge().toByteArray(), proof));
    }

    Challenge challenge() {
        return blocking.withDeadlineAfter(10, TimeUnit.SECONDS).getChallenge(
                ChallengeRequest.newBuilder().setClientId(id.value()).build());
    }

    HelloRequest helloRequest(byte[] certificate, byte[] challenge, byte[] proof) {
        HelloRequest.Builder b = HelloRequest.newBuilder().setClientId(id.value()).setKeyId(key.keyId().hex())
                .setScheme(key.scheme().displayName()).setAgent("test").setChallenge(ByteString.copyFrom(challenge))
                .setSignature(ByteString.copyFrom(proof));
        if (certificate != null) {
            b.setCertificate(ByteString.copyFrom(certificate));
        }
        return b.build();
    }

    /** Sends a Hello as given (an attacker's, perhaps); keeps the session it opens. */
    HelloResponse hello(HelloRequest request) {
        HelloResponse r = blocking.withDeadlineAfter(10, TimeUnit.SECONDS).hello(request);
        session(r.getSessionToken());
        return r;
    }

    /** Stubs whose calls carry {@link #session} (or no session when it is null). */
    private <S extends AbstractStub<S>> S withSession(S stub) {
        Metadata md = new Metadata();
        String token = session();
        if (token != null) {
            md.put(SESSION, token);
        }
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    /** The key id every test coordinator pins to (TestFederation signs with this test key). */
    static final io.pqfl.crypto.KeyId COORDINATOR = io.pqfl.crypto.testing.TestKeys.key(io.pqfl.crypto.SignatureScheme.ML_DSA_65)
            .keyId();

    private static final Metadata.Key<String> SESSION = Metadata.Key.of(SessionStatement.METADATA_KEY,
            Metadata.ASCII_STRING_MARSHALLER);

    EnrollmentChallenge beginEnrollment() {
        return blocking.withDeadlineAfter(10, TimeUnit.SECONDS).beginEnrollment(EnrollmentRequest.newBuilder()
                .setClientId(id.value()).setPublicKey(ByteString.copyFrom(key.verifyingKey().encoded())).build());
    }

    EnrollmentResult completeEnrollment(byte[] challenge, String token, byte[] signature) {
        return blocking.withDeadlineAfter(10, TimeUnit.SECONDS).completeEnrollment(EnrollmentProof.newBuilder()
                .setClientId(id.value()).setPublicKey(ByteString.copyFrom(key.verifyingKey().encoded())).setToken(token)
                .setChallenge(ByteString.copyFrom(challenge)).setSignature(ByteString.copyFrom(signature)).build());
    }

    /** The honest two-step enrollment with {@code token}. */
    EnrollmentResult enroll(String token) {
        var c = beginEnrollment();
        byte[] challenge = c.getChallenge().toByteArray();
        return completeEnrollment(challenge, token,
                EnrollmentStatement.prove(c.getFederationId(), id, challenge, key, token));
    }

    /** A received task: header, decoded model, the digest computed over the received bytes, and the signature. */
    public record ReceivedTask(TaskHeader header, ModelWeights model, PayloadDigest digest, SignedModel signed, List<ByteString> chunks) {
        RoundNonce nonce() {
            return RoundNonce.of(header.getNonce().toByteArray());
        }
    }

    public ReceivedTask task(long waitMs) throws Exception {
        return task(waitMs, null);
    }

    /**
     * A task, naming {@code held} (null: none) as the model this client holds; when the coordinator omits the model,
     * the received task has no model and {@code held} as its digest.
     */
    public ReceivedTask task(long waitMs, PayloadDigest held) throws Exception {
        TaskRequest.Builder request = TaskRequest.newBuilder().setClientId(id.value()).setWaitMs((int) waitMs);
        if (held != null) {
            request.setHeldModelDigest(ByteString.copyFrom(held.bytes()));
        }
        Iterator<TaskChunk> it = withSession(blocking).withDeadlineAfter(waitMs + 10_000, TimeUnit.MILLISECONDS)
                .getTask(request.build());
        TaskHeader header = it.next().getHeader();
        if (header.getModelOmitted()) {
            TaskChunk c = it.next();
            if (!c.hasModelSignature()) {
                throw new AssertionError("a task that omitted its model went on with " + c.getPartCase());
            }
            return new ReceivedTask(header, null, held, WireMapping.fromWire(c.getModelSignature()), List.of());
        }
        WeightsReceiver receiver = new WeightsReceiver(WireMapping.fromWire(header.getManifest()));
        List<ByteString> chunks = new ArrayList<>();
        while (true) {
            TaskChunk c = it.next();
            if (c.hasModelChunk()) {
                chunks.add(c.getModelChunk());
                receiver.accept(c.getModelChunk().asReadOnlyByteBuffer());
            } else {
                SignedModel signed = WireMapping.fromWire(c.getModelSignature());
                return new ReceivedTask(header, receiver.weights(), receiver.digest(), signed, chunks);
            }
        }
    }

    /** The parts of an honest submission, which a test may alter before sending. */
    static final class Submission {
        UpdateHeader.Builder header;
        List<byte[]> chunks = new ArrayList<>();
        byte[] signature;
        UpdateStatement statement;
        /** An aggregator's partial aggregate for the trailer, or null. */
        io.pqfl.proto.v1.PartialAggregate partial;
    }

    Submission prepare(ReceivedTask task, ModelWeights update, long examples) {
        Submission s = new Submission();
        TaskHeader h = task.header();
        io.pqfl.protocol.UpdateHeader header = new io.pqfl.protocol.UpdateHeader(h.getFederationId(), h.getRound(),
                task.nonce(), id, key.keyId(), key.scheme(), task.digest(), update.manifest(), examples,
                update.manifest().totalBytes());
        s.statement = header.statement(update.digest());
        s.header = WireMapping.toWire(header).toBuilder();
        update.writeChunks(16, s.chunks::add);
        s.signature = Signer.create(key).sign(s.statement.encode()).bytes();
        return s;
    }

    /** An honest submission altered in transit after signing: one tensor byte flipped (refused BAD_SIGNATURE). */
    Submission tampered(ReceivedTask task, ModelWeights update, long examples) {
        Submission s = prepare(task, update, examples);
        s.chunks.get(0)[2] ^= 0x40;
        return s;
    }

    /**
     * The unsigned baseline's submission, as its client sends it: a header that announces no key or scheme, and a
     * trailer without a signature ({@link Submission#statement} is what the coordinator attributes it to).
     */
    Submission prepareUnsigned(ReceivedTask task, ModelWeights update, long examples) {
        Submission s = prepare(task, update, examples);
        s.header.clearKeyId().clearScheme();
        s.signature = new byte[0];
        return s;
    }

    /**
     * The honest evaluation of an EVALUATE task: the statement over the task's round, nonce and the digest of the
     * model received, signed with this client's key; a test may alter the report before sending it.
     */
    public io.pqfl.proto.v1.EvaluationReport.Builder evaluation(ReceivedTask task, double loss, long examples,
                                                                 java.util.Map<String, Double> metrics) {
        io.pqfl.protocol.EvaluationStatement s = new io.pqfl.protocol.EvaluationStatement(task.header().getFederationId(),
                task.header().getRound(), task.nonce(), id, task.digest(), loss, examples, metrics, key.scheme(), key.keyId());
        return WireMapping.toWire(s, s.sign(Signer.create(key))).toBuilder();
    }

    /** Sends an evaluation report; a refusal surfaces as the {@code StatusRuntimeException}. */
    public io.pqfl.proto.v1.EvaluationResponse submitEvaluation(io.pqfl.proto.v1.EvaluationReportOrBuilder report) {
        io.pqfl.proto.v1.EvaluationReport r = report instanceof io.pqfl.proto.v1.EvaluationReport.Builder b ? b.build()
                : (io.pqfl.proto.v1.EvaluationReport) report;
        return withSession(blocking).withDeadlineAfter(10, TimeUnit.SECONDS).submitEvaluation(r);
    }

    public io.pqfl.proto.v1.StatusResponse status() {
        return blocking.withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(io.pqfl.proto.v1.StatusRequest.getDefaultInstance());
    }

    public SubmitResponse submit(ReceivedTask task, ModelWeights update, long examples) throws Exception {
        return send(prepare(task, update, examples));
    }

    /** Sends a submission; a rejection surfaces as the {@code StatusRuntimeException}. */
    SubmitResponse send(Submission s) throws Exception {
        List<UpdateChunk> messages = new ArrayList<>();
        if (s.header != null) {
            messages.add(UpdateChunk.newBuilder().setHeader(s.header).build());
        }
        for (byte[] c : s.chunks) {
            messages.add(UpdateChunk.newBuilder().setTensorChunk(ByteString.copyFrom(c)).build());
        }
        if (s.signature != null) {
            UpdateTrailer.Builder trailer = UpdateTrailer.newBuilder().setSignature(ByteString.copyFrom(s.signature));
            if (s.partial != null) {
                trailer.setPartialAggregate(s.partial);
            }
            messages.add(UpdateChunk.newBuilder().setTrailer(trailer).build());
        }
        return sendRaw(messages);
    }

    /** The blocking stub with this client's session. */
    FederationGrpc.FederationBlockingStub blockingStub() {
        return withSession(blocking);
    }

    /** The asynchronous stub with this client's session. */
    FederationGrpc.FederationStub asyncStub() {
        return withSession(async);
    }

    /** An upload stream with this client's session on {@code channel} (another connection, perhaps). */
    io.grpc.stub.StreamObserver<UpdateChunk> uploadStream(io.grpc.Channel channel,
                                                          io.grpc.stub.StreamObserver<SubmitResponse> responses) {
        return withSession(FederationGrpc.newStub(channel)).submitUpdate(responses);
    }

    SubmitResponse sendRaw(List<UpdateChunk> messages) throws Exception {
        CompletableFuture<SubmitResponse> result = new CompletableFuture<>();
        withSession(async).withDeadlineAfter(30, TimeUnit.SECONDS).submitUpdate(new ClientResponseObserver<UpdateChunk, SubmitResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<UpdateChunk> requests) {
                // Flow control: send only while the transport is ready.
                Iterator<UpdateChunk> it = messages.iterator();
                boolean[] halfClosed = {false};
                requests.setOnReadyHandler(() -> {
                    while (requests.isReady() && it.hasNext()) {
                        requests.onNext(it.next());
                    }
                    // onReady may fire again after the last message: half-close exactly once.
                    if (!it.hasNext() && !halfClosed[0]) {
                        halfClosed[0] = true;
                        requests.onCompleted();
                    }
                });
            }

            @Override
            public void onNext(SubmitResponse value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        try {
            return result.get(40, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }
}
