package io.pqfl.coordinator.server;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.identity.Authenticator;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.proto.v1.EvaluationResponse;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.round.FederationStatus;
import io.pqfl.coordinator.round.Stage;
import io.pqfl.coordinator.round.TaskWaits;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.proto.v1.Challenge;
import io.pqfl.proto.v1.ChallengeRequest;
import io.pqfl.proto.v1.EnrollmentChallenge;
import io.pqfl.proto.v1.EnrollmentProof;
import io.pqfl.proto.v1.EnrollmentRequest;
import io.pqfl.proto.v1.EnrollmentResult;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.FederationState;
import io.pqfl.proto.v1.HelloRequest;
import io.pqfl.proto.v1.HelloResponse;
import io.pqfl.proto.v1.StatusRequest;
import io.pqfl.proto.v1.StatusResponse;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.SecAggAck;
import io.pqfl.proto.v1.SecAggAdvertisement;
import io.pqfl.proto.v1.SecAggAwait;
import io.pqfl.proto.v1.SecAggMaskedInput;
import io.pqfl.proto.v1.SecAggPhase;
import io.pqfl.proto.v1.SecAggReveal;
import io.pqfl.proto.v1.SecAggShares;
import io.pqfl.proto.v1.SecAggStep;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.protocol.WireMapping;
import java.io.UncheckedIOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gRPC face of a {@link FederationEngine}: decoding, streaming with flow control, and error mapping. */
final class FederationService extends FederationGrpc.FederationImplBase {
    private static final Logger log = LoggerFactory.getLogger(FederationService.class);
    /** The longest a GetTask call may wait; a client asking for more gets this. */
    static final Duration MAX_TASK_WAIT = Duration.ofSeconds(30);

    /** Cuts off uploads that stay open longer than the configured upload timeout (stalled or endless streams). */
    static final ScheduledExecutorService TIMER =
            Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "pqfl-upload-timeouts");
                t.setDaemon(true);
                return t;
            });

    private final Coordinator coordinator;
    private final TaskStreams taskStreams;

    FederationService(Coordinator coordinator) {
        this.coordinator = coordinator;
        this.taskStreams = new TaskStreams(coordinator.config().maxTaskStreams(), coordinator.config().uploadIdleTimeout(), TIMER,
                coordinator.metrics());
        io.micrometer.core.instrument.Gauge.builder("pqfl.task.streams", taskStreams, TaskStreams::held)
                .description("Task streams holding a slot (sending, or ended and not yet closed by the transport)")
                .register(coordinator.metrics().registry());
    }

    @Override
    public void getChallenge(ChallengeRequest request, StreamObserver<Challenge> responses) {
        ClientId id;
        try {
            id = new ClientId(request.getClientId());
        } catch (IllegalArgumentException e) {
            responses.onError(Statuses.invalid("malformed challenge request: " + LogSafe.text(e.getMessage())));
            return;
        }
        byte[] challenge = coordinator.identity().challenge(id);
        responses.onNext(Challenge.newBuilder().setFederationId(coordinator.config().federationId())
                .setChallenge(ByteString.copyFrom(challenge)).setExpiresUnixMs(coordinator.identity().challengeExpiry(challenge))
                .setCoordinatorKeyId(coordinator.coordinatorKey().keyId().hex()).build());
        responses.onCompleted();
    }

    @Override
    public void hello(HelloRequest request, StreamObserver<HelloResponse> responses) {
        Sessions.Session session;
        try {
            ClientId id = new ClientId(request.getClientId());
            byte[] certificate = request.getCertificate().toByteArray();
            X509Certificate tlsPeer = TlsInterceptor.PEER_CERTIFICATE.get();
            if (tlsPeer != null) {
                // Mutual TLS: the handshake already checked the certificate; it must name this client.
                String cn = Certificates.commonName(tlsPeer);
                if (!cn.equals(id.value())) {
                    throw new RefusedException(RejectReason.CERTIFICATE_INVALID, "the TLS client certificate is for '"
                            + cn + "', not '" + id + "'");
                }
                if (certificate.length == 0) {
                    certificate = tlsPeer.getEncoded();
                }
            }
            session = coordinator.identity().hello(new Authenticator.Claim(id, new KeyId(request.getKeyId()),
                    SignatureScheme.parse(request.getScheme()), certificate, request.getChallenge().toByteArray(),
                    request.getSignature().toByteArray()));
        } catch (IllegalArgumentException e) {
            responses.onError(Statuses.invalid("malformed hello: " + LogSafe.text(e.getMessage())));
            return;
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
            return;
        } catch (CertificateEncodingException e) {
            responses.onError(Statuses.invalid("cannot encode the TLS client certificate"));
            return;
        }
        // The stage only: a full status counts the live clients, which a Hello from each of thousands must not do.
        Stage stage = coordinator.rounds().stage();
        responses.onNext(HelloResponse.newBuilder().setFederationId(coordinator.config().federationId())
                .setCoordinatorKeyId(coordinator.coordinatorKey().keyId().hex())
                .setCoordinatorScheme(coordinator.coordinatorKey().scheme().displayName())
                .setState(wireState(stage)).setSessionToken(session.token())
                .setSessionExpiresUnixMs(session.expires().toEpochMilli()).build());
        responses.onCompleted();
    }

    @Override
    public void getTask(TaskRequest request, StreamObserver<TaskChunk> responses) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        ClientId client = session.clientId();
        if (!request.getClientId().isEmpty() && !request.getClientId().equals(client.value())) {
            responses.onError(Statuses.rejected(RejectReason.SESSION_MISMATCH, "the task request names another client "
                    + "than the session's (" + client + ")"));
            return;
        }
        int held = request.getHeldModelDigest().size();
        if (held != 0 && held != PayloadDigest.BYTES) {
            responses.onError(Statuses.rejected(RejectReason.MALFORMED, "held_model_digest must be empty or "
                    + PayloadDigest.BYTES + " bytes, got " + held));
            return;
        }
        Duration wait = Duration.ofMillis(Math.min(request.getWaitMs(), MAX_TASK_WAIT.toMillis()));
        ServerCallStreamObserver<TaskChunk> call = (ServerCallStreamObserver<TaskChunk>) responses;
        // gRPC takes the call's handlers only now, before this method returns; the task itself comes later.
        TaskStreams.Pump pump = taskStreams.open(call, client,
                held == 0 ? null : PayloadDigest.ofBytes(request.getHeldModelDigest().toByteArray()));
        // No thread waits: the engine answers when the task is ready, the run ends, or the wait runs out.
        TaskWaits.TaskWait pending = coordinator.rounds().awaitTaskAsync(client, wait, pump::answer);
        pump.onCancel(pending::cancel);
    }

    @Override
    public StreamObserver<UpdateChunk> submitUpdate(StreamObserver<SubmitResponse> responses) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        ServerCallStreamObserver<SubmitResponse> call = (ServerCallStreamObserver<SubmitResponse>) responses;
        call.disableAutoRequest();
        call.request(1);
        return new UploadObserver(coordinator, TIMER, session, call);
    }

    @Override
    public void submitEvaluation(EvaluationReport request, StreamObserver<EvaluationResponse> responses) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        try {
            long seq = coordinator.rounds().submitEvaluation(request, session);
            responses.onNext(EvaluationResponse.newBuilder().setAccepted(true).setLedgerSeq(seq).build());
            responses.onCompleted();
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        } catch (RuntimeException e) {
            log.error("Could not record the evaluation of {}", session.clientId(), e);
            responses.onError(Statuses.internal("the coordinator could not record the evaluation"));
        }
    }

    @Override
    public void advertiseKeys(SecAggAdvertisement request, StreamObserver<SecAggAck> responses) {
        secAgg(responses, "advertisement", SecAggPhase.ADVERTISE, session ->
                coordinator.rounds().secureRound(request.getRound()).advertise(session.clientId(), request));
    }

    @Override
    public void shareKeys(SecAggShares request, StreamObserver<SecAggAck> responses) {
        secAgg(responses, "shares", SecAggPhase.SHARE, session ->
                coordinator.rounds().secureRound(request.getRound()).share(session.clientId(), request));
    }

    @Override
    public void revealShares(SecAggReveal request, StreamObserver<SecAggAck> responses) {
        secAgg(responses, "revealed shares", SecAggPhase.UNMASK, session ->
                coordinator.rounds().secureRound(request.getRound()).reveal(session.clientId(), request));
    }

    @Override
    public void submitMaskedInput(SecAggMaskedInput request, StreamObserver<SubmitResponse> responses) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        try {
            long seq = coordinator.rounds().submitMaskedInput(request, session);
            responses.onNext(SubmitResponse.newBuilder().setAccepted(true).setLedgerSeq(seq)
                    .setUpdateDigest(com.google.protobuf.ByteString.copyFrom(
                            io.pqfl.crypto.PayloadDigest.of(request.getMasked().toByteArray()).bytes())).build());
            responses.onCompleted();
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        } catch (IllegalArgumentException e) {
            responses.onError(Statuses.rejected(RejectReason.SECAGG_INVALID, io.pqfl.coordinator.verify.LogSafe.text(e.getMessage())));
        } catch (RuntimeException e) {
            log.error("Could not record the masked input of {}", session.clientId(), e);
            responses.onError(Statuses.internal("the coordinator could not record the masked input"));
        }
    }

    @Override
    public void awaitSecAgg(SecAggAwait request, StreamObserver<SecAggStep> responses) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        try {
            coordinator.rounds().secureRound(request.getRound()).await(session.clientId(), request, responses);
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        }
    }

    private interface SecAggCall {
        void run(Sessions.Session session) throws RefusedException;
    }

    private static void secAgg(StreamObserver<SecAggAck> responses, String what, SecAggPhase phase, SecAggCall call) {
        Sessions.Session session = SessionInterceptor.SESSION.get();
        try {
            call.run(session);
            responses.onNext(SecAggAck.newBuilder().setPhase(phase).build());
            responses.onCompleted();
        } catch (RefusedException e) {
            log.warn("Refused the secure-aggregation {} of {}: {}", what, session.clientId(), e.toString());
            responses.onError(Statuses.rejected(e));
        } catch (IllegalArgumentException e) { // a malformed id or field in the message: the client's fault, named safely
            String why = io.pqfl.coordinator.verify.LogSafe.text(e.getMessage());
            log.warn("Refused the secure-aggregation {} of {}: SECAGG_INVALID: {}", what, session.clientId(), why);
            responses.onError(Statuses.rejected(RejectReason.SECAGG_INVALID, why));
        } catch (RuntimeException e) {
            log.error("Could not handle the secure-aggregation {} of {}", what, session.clientId(), e);
            responses.onError(Statuses.internal("the coordinator could not handle the " + what));
        }
    }

    @Override
    public void beginEnrollment(EnrollmentRequest request,
                                StreamObserver<EnrollmentChallenge> responses) {
        try {
            byte[] challenge = coordinator.identity().beginEnrollment(new ClientId(request.getClientId()), request.getPublicKey().toByteArray());
            responses.onNext(EnrollmentChallenge.newBuilder().setFederationId(coordinator.config().federationId())
                    .setChallenge(ByteString.copyFrom(challenge)).build());
            responses.onCompleted();
        } catch (IllegalArgumentException e) {
            responses.onError(Statuses.invalid("malformed enrollment request: " + LogSafe.text(e.getMessage())));
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        }
    }

    @Override
    public void completeEnrollment(EnrollmentProof request,
                                   StreamObserver<EnrollmentResult> responses) {
        try {
            var key = coordinator.identity().completeEnrollment(new ClientId(request.getClientId()), request.getPublicKey().toByteArray(),
                    request.getToken(), request.getChallenge().toByteArray(), request.getSignature().toByteArray());
            responses.onNext(EnrollmentResult.newBuilder().setFederationId(coordinator.config().federationId())
                    .setKeyId(key.keyId().hex()).setCoordinatorKeyId(coordinator.coordinatorKey().keyId().hex()).build());
            responses.onCompleted();
        } catch (IllegalArgumentException e) {
            responses.onError(Statuses.invalid("malformed enrollment proof: " + LogSafe.text(e.getMessage())));
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        } catch (UncheckedIOException e) {
            responses.onError(Statuses.internal("the coordinator could not record the enrollment"));
        }
    }

    @Override
    public void getStatus(StatusRequest request, StreamObserver<StatusResponse> responses) {
        FederationStatus s = coordinator.rounds().status();
        responses.onNext(StatusResponse.newBuilder().setFederationId(s.federationId()).setState(wireState(s.stage()))
                .setCurrentRound(s.currentRound()).setCompletedRounds(s.closedRounds()).setTotalRounds(s.totalRounds())
                .setConnectedClients(s.connectedClients()).setModelDigest(WireMapping.bytes(s.modelDigest()))
                .mergeFrom(evaluations()).build());
        responses.onCompleted();
    }

    /** The status's newest evaluations (a partial response merged into the status). */
    private StatusResponse evaluations() {
        var b = StatusResponse.newBuilder();
        var rounds = coordinator.rounds();
        rounds.lastEvaluation(EvaluationSummary.Source.FEDERATED).ifPresent(e -> b.setLastEvaluation(toWire(e)));
        rounds.lastEvaluation(EvaluationSummary.Source.CENTRAL).ifPresent(e -> b.setLastCentralEvaluation(toWire(e)));
        rounds.lastEvaluation(EvaluationSummary.Source.CLIENT_REPORTS).ifPresent(e -> b.setLastClientMetrics(toWire(e)));
        return b.build();
    }

    private static io.pqfl.proto.v1.EvaluationSummary toWire(EvaluationSummary e) {
        var b = io.pqfl.proto.v1.EvaluationSummary.newBuilder().setRound(e.round()).setSource(e.source().name())
                .setClients(e.clients()).setExamples(e.examples()).putAllMetrics(e.metrics());
        if (!e.empty()) {
            b.setLoss(e.loss());
        }
        return b.build();
    }

    private static FederationState wireState(Stage stage) {
        return switch (stage) {
            case WAITING_FOR_CLIENTS -> FederationState.WAITING_FOR_CLIENTS;
            case ROUND_OPEN, AGGREGATING, EVALUATING -> FederationState.ROUND_OPEN;
            case FINISHED -> FederationState.FINISHED;
        };
    }
}
