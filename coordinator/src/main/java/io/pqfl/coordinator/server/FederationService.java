package io.pqfl.coordinator.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.identity.Authenticator;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.proto.v1.EvaluationResponse;
import io.pqfl.protocol.ReportedMetrics;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.round.FederationStatus;
import io.pqfl.coordinator.round.TaskWaits;
import io.pqfl.coordinator.round.Upload;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
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
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
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
        this.taskStreams = new TaskStreams(coordinator.config().maxTaskStreams(), coordinator.config().uploadIdleTimeout(), TIMER);
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
        FederationStatus s = coordinator.rounds().status();
        responses.onNext(HelloResponse.newBuilder().setFederationId(s.federationId())
                .setCoordinatorKeyId(coordinator.coordinatorKey().keyId().hex())
                .setCoordinatorScheme(coordinator.coordinatorKey().scheme().displayName())
                .setState(wireState(s)).setSessionToken(session.token())
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
        Duration wait = Duration.ofMillis(Math.min(request.getWaitMs(), MAX_TASK_WAIT.toMillis()));
        ServerCallStreamObserver<TaskChunk> call = (ServerCallStreamObserver<TaskChunk>) responses;
        // gRPC takes the call's handlers only now, before this method returns; the task itself comes later.
        TaskStreams.Pump pump = taskStreams.open(call, client);
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
        return new UploadObserver(session, call);
    }

    /**
     * The advisory metrics of an update header, or null: out-of-bounds metrics are ignored with a warning naming the
     * client, never a reason to refuse the update (they are unsigned hints).
     */
    private ReportedMetrics reportedMetrics(io.pqfl.proto.v1.UpdateHeader h) {
        try {
            return WireMapping.reportedMetrics(h).orElse(null);
        } catch (IllegalArgumentException e) {
            log.warn("Ignoring the metrics {} sent with its update for round {}: {}", SessionInterceptor.SESSION.get().clientId(),
                    h.getRound(), LogSafe.text(e.getMessage()));
            return null;
        }
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

    /**
     * One update stream. Its methods are synchronized: gRPC calls them one at a time, the timer from its own
     * thread. Every way out (accepted, rejected, the client's error, a timeout, an unexpected exception) goes
     * through {@link #fail} or the accepted path, and the engine's {@code Upload} frees its slot on each.
     */
    private final class UploadObserver implements StreamObserver<UpdateChunk> {
        private final Sessions.Session session;
        private final ServerCallStreamObserver<SubmitResponse> responses;
        private final long startNanos = System.nanoTime();
        private final Duration limit = coordinator.config().uploadTimeout();
        private final Duration idleLimit = coordinator.config().uploadIdleTimeout();
        private Upload upload;
        private byte[] signature;
        private boolean finished;
        private long claimedRound;
        private long lastMessageNanos = System.nanoTime();
        private ScheduledFuture<?> timer;

        UploadObserver(Sessions.Session session, ServerCallStreamObserver<SubmitResponse> responses) {
            this.session = session;
            this.responses = responses;
            schedule(Math.min(limit.toNanos(), idleLimit.toNanos()));
        }

        private void schedule(long nanos) {
            timer = TIMER.schedule(this::checkTime, Math.max(1, nanos), TimeUnit.NANOSECONDS);
        }

        /** Cuts off a stream that has been quiet for the idle limit, or open longer than the upload limit. */
        private synchronized void checkTime() {
            if (finished) {
                return;
            }
            long now = System.nanoTime();
            long idleLeft = idleLimit.toNanos() - (now - lastMessageNanos);
            long totalLeft = limit.toNanos() - (now - startNanos);
            if (totalLeft <= 0) {
                fail(new RefusedException(RejectReason.INCOMPLETE, "the update stream stayed open longer than "
                        + limit.toSeconds() + " s (endless upload)"));
            } else if (idleLeft <= 0) {
                fail(new RefusedException(RejectReason.INCOMPLETE, "the update stream sent nothing for "
                        + idleLimit.toSeconds() + " s (stalled upload); its slot is free, the client may retry"));
            } else {
                schedule(Math.min(idleLeft, totalLeft));
            }
        }

        @Override
        public synchronized void onNext(UpdateChunk chunk) {
            if (finished) {
                return;
            }
            lastMessageNanos = System.nanoTime();
            try {
                switch (chunk.getPartCase()) {
                    case HEADER -> {
                        if (upload != null) {
                            throw malformed("a second header");
                        }
                        claimedRound = chunk.getHeader().getRound();
                        upload = coordinator.rounds().beginUpload(WireMapping.fromWire(chunk.getHeader()), session,
                                this::superseded, reportedMetrics(chunk.getHeader()));
                    }
                    case TENSOR_CHUNK -> {
                        if (upload == null || signature != null) {
                            throw malformed(upload == null ? "tensor bytes before the header" : "tensor bytes after the trailer");
                        }
                        upload.chunk(chunk.getTensorChunk().asReadOnlyByteBuffer());
                    }
                    case TRAILER -> {
                        if (upload == null || signature != null) {
                            throw malformed(upload == null ? "a trailer before the header" : "a second trailer");
                        }
                        signature = chunk.getTrailer().getSignature().toByteArray();
                    }
                    case PART_NOT_SET -> throw malformed("an empty message");
                }
                responses.request(1);
            } catch (RefusedException e) {
                fail(e);
            } catch (IllegalArgumentException e) {
                fail(new RefusedException(RejectReason.MALFORMED, "malformed update header: " + e.getMessage()));
            } catch (RuntimeException | Error e) {
                // Whatever went wrong (out of memory included), the upload's slot is freed and the client told.
                fail(new RefusedException(RejectReason.INCOMPLETE, "the coordinator could not process the update"),
                        e);
            }
        }

        /** A newer upload of the same client took this one's place: end this stream now. */
        private synchronized void superseded() {
            fail(new RefusedException(RejectReason.INCOMPLETE, "superseded by a newer upload of the same client"));
        }

        private RefusedException malformed(String what) {
            return new RefusedException(RejectReason.MALFORMED, "unexpected " + what + " in the update stream");
        }

        private void fail(RefusedException e) {
            fail(e, null);
        }

        private void fail(RefusedException e, Throwable cause) {
            if (finished) {
                return;
            }
            finished = true;
            timer.cancel(false);
            try {
                if (cause != null) {
                    log.error("Upload of {} failed inside the coordinator", session.clientId(), cause);
                }
                if (upload != null) {
                    upload.abort(e);
                } else if (e.reason() == RejectReason.MALFORMED) {
                    coordinator.rounds().recordMalformed(session.clientId(), claimedRound, e.reason(), e.getMessage());
                }
            } finally {
                try {
                    responses.onError(Statuses.rejected(e));
                } catch (RuntimeException alreadyClosed) {
                    log.debug("Could not tell {} about its rejection: the call is closed", session.clientId());
                }
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            if (finished) {
                return;
            }
            finished = true;
            timer.cancel(false);
            if (upload != null) {
                upload.abort(new RefusedException(RejectReason.INCOMPLETE,
                        "the client ended the stream early: " + Status.fromThrowable(t).getCode()));
            }
        }

        @Override
        public synchronized void onCompleted() {
            if (finished) {
                return;
            }
            if (upload == null) {
                fail(new RefusedException(RejectReason.MALFORMED, "the update stream had no header"));
                return;
            }
            if (signature == null) {
                fail(new RefusedException(RejectReason.INCOMPLETE, "the update stream ended without its signature"));
                return;
            }
            finished = true;
            timer.cancel(false);
            try {
                long seq = upload.finish(signature);
                responses.onNext(SubmitResponse.newBuilder().setAccepted(true).setLedgerSeq(seq).build());
                responses.onCompleted();
            } catch (RefusedException e) {
                responses.onError(Statuses.rejected(e));
            } catch (RuntimeException | Error e) {
                log.error("Could not record the update of {}", session.clientId(), e);
                responses.onError(Statuses.internal("the coordinator could not record the update"));
            }
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
        responses.onNext(StatusResponse.newBuilder().setFederationId(s.federationId()).setState(wireState(s))
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

    private static FederationState wireState(FederationStatus s) {
        return switch (s.stage()) {
            case WAITING_FOR_CLIENTS -> FederationState.WAITING_FOR_CLIENTS;
            case ROUND_OPEN, AGGREGATING, EVALUATING -> FederationState.ROUND_OPEN;
            case FINISHED -> FederationState.FINISHED;
        };
    }
}
