package io.pqfl.coordinator.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.round.Upload;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.ReportedMetrics;
import io.pqfl.protocol.WireMapping;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One update stream of {@link FederationService#submitUpdate}: the header, the tensor chunks and the trailer in
 * order, handed to the engine's {@link Upload}, with flow control (one message requested at a time) and the
 * upload's time limits. Its methods are synchronized: gRPC calls them one at a time, the timer from its own
 * thread. Every way out (accepted, rejected, the client's error, a timeout, an unexpected exception) goes
 * through {@link #fail} or the accepted path, and the engine's {@code Upload} frees its slot on each.
 */
final class UploadObserver implements StreamObserver<UpdateChunk> {
    // Logs under the service's name, as it did when it was the service's inner class, so log settings still apply.
    private static final Logger log = LoggerFactory.getLogger(FederationService.class);

    private final Coordinator coordinator;
    private final ScheduledExecutorService timers;
    private final Sessions.Session session;
    private final ServerCallStreamObserver<SubmitResponse> responses;
    private final long startNanos = System.nanoTime();
    private final Duration limit;
    private final Duration idleLimit;
    private Upload upload;
    private byte[] signature;
    private boolean finished;
    /** An aggregator's partial aggregate from the trailer, or null. */
    private io.pqfl.proto.v1.PartialAggregate partialAggregate;
    private long claimedRound;
    private long lastMessageNanos = System.nanoTime();
    private ScheduledFuture<?> timer;

    /**
     * Starts the upload's clock; the stream is cut off on {@code timers} once it is quiet for the coordinator's
     * upload idle timeout or open longer than its upload timeout.
     */
    UploadObserver(Coordinator coordinator, ScheduledExecutorService timers, Sessions.Session session,
                   ServerCallStreamObserver<SubmitResponse> responses) {
        this.coordinator = coordinator;
        this.timers = timers;
        this.session = session;
        this.responses = responses;
        this.limit = coordinator.config().uploadTimeout();
        this.idleLimit = coordinator.config().uploadIdleTimeout();
        schedule(Math.min(limit.toNanos(), idleLimit.toNanos()));
    }

    private void schedule(long nanos) {
        timer = timers.schedule(this::checkTime, Math.max(1, nanos), TimeUnit.NANOSECONDS);
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
                    partialAggregate = chunk.getTrailer().hasPartialAggregate()
                            ? chunk.getTrailer().getPartialAggregate() : null;
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

    /**
     * The advisory metrics of an update header, or null: out-of-bounds metrics are ignored with a warning naming the
     * client, never a reason to refuse the update (they are unsigned hints).
     */
    private ReportedMetrics reportedMetrics(io.pqfl.proto.v1.UpdateHeader h) {
        try {
            return WireMapping.reportedMetrics(h).orElse(null);
        } catch (IllegalArgumentException e) {
            log.warn("Ignoring the metrics {} sent with its update for round {}: {}", session.clientId(),
                    h.getRound(), LogSafe.text(e.getMessage()));
            return null;
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
            long seq = upload.finish(signature, partialAggregate);
            responses.onNext(SubmitResponse.newBuilder().setAccepted(true).setLedgerSeq(seq)
                    .setUpdateDigest(com.google.protobuf.ByteString.copyFrom(upload.acceptedDigest().bytes())).build());
            responses.onCompleted();
        } catch (RefusedException e) {
            responses.onError(Statuses.rejected(e));
        } catch (RuntimeException | Error e) {
            log.error("Could not record the update of {}", session.clientId(), e);
            responses.onError(Statuses.internal("the coordinator could not record the update"));
        }
    }
}
