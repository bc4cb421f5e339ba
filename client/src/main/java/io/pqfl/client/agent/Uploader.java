package io.pqfl.client.agent;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.protocol.ModelWeights;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one round's update: streams it with {@link UploadPump} and, until the round's deadline, tries again
 * after a {@link Backoff} when the coordinator is unavailable or busy, and after a new Hello when the session
 * ended. An update the coordinator refuses with a reason is not sent again.
 */
final class Uploader {
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);

    /** How a delivery ended: accepted (with its ledger entry), or not, with the coordinator's reason or the status. */
    record Delivery(boolean accepted, long ledgerSeq, String reason) {
        static Delivery accepted(long ledgerSeq) {
            return new Delivery(true, ledgerSeq, null);
        }

        static Delivery failed(String reason) {
            return new Delivery(false, -1, reason);
        }
    }

    private final FederationGrpc.FederationStub async;
    private final Session session;
    private final ClientAgent.Settings settings;
    private final Random jitter;
    private final BooleanSupplier stopping;

    Uploader(FederationGrpc.FederationStub async, Session session, ClientAgent.Settings settings, Random jitter,
             BooleanSupplier stopping) {
        this.async = async;
        this.session = session;
        this.settings = settings;
        this.jitter = jitter;
        this.stopping = stopping;
    }

    /**
     * Delivers {@code update} (whose payload digest is {@code digest}) for {@code round}; empty when the agent was
     * stopped first. A {@code DUPLICATE} naming an accepted update with this digest is a delivery: an earlier attempt
     * was accepted and its answer lost (the connection or the coordinator went away first).
     */
    Optional<Delivery> deliver(long round, UpdateHeader header, ModelWeights update, PayloadDigest digest, byte[] signature,
                               io.pqfl.proto.v1.PartialAggregate partial, long deadlineUnixMs)
            throws InterruptedException {
        Backoff backoff = new Backoff(Backoff.INITIAL, settings.maxBackoff(), jitter);
        while (!stopping.getAsBoolean()) {
            try {
                return Optional.of(Delivery.accepted(submit(header, update, signature, partial, deadlineUnixMs).getLedgerSeq()));
            } catch (StatusRuntimeException e) {
                boolean beforeDeadline = System.currentTimeMillis() < deadlineUnixMs;
                if (Failures.sessionEnded(e) && beforeDeadline) {
                    log.info("Round {}: session ended ({}); saying Hello again before retrying", round,
                            e.getStatus().getDescription());
                    session.hello();
                    continue;
                }
                String reason = Failures.reason(e);
                OptionalLong earlier = Failures.acceptedEarlier(e, digest);
                if (earlier.isPresent()) {
                    log.info("Round {}: the coordinator already holds this update (ledger entry {}): an earlier attempt "
                            + "was accepted and its answer lost", round, earlier.getAsLong());
                    return Optional.of(Delivery.accepted(earlier.getAsLong()));
                }
                if (Failures.busy(e) && beforeDeadline) {
                    Duration wait = backoff.next();
                    log.info("Round {}: coordinator busy ({}); retrying in {} ms", round, reason, wait.toMillis());
                    Thread.sleep(wait.toMillis());
                    continue;
                }
                if (reason != null) {
                    log.warn("Round {}: update rejected by the coordinator: {}", round, e.getStatus().getDescription());
                    return Optional.of(Delivery.failed(reason));
                }
                if (!Failures.transientCode(e.getStatus().getCode()) || System.currentTimeMillis() > deadlineUnixMs) {
                    log.warn("Round {}: update not delivered: {}", round, e.getStatus());
                    return Optional.of(Delivery.failed(e.getStatus().getCode().name()));
                }
                Duration wait = backoff.next();
                log.warn("Round {}: coordinator unavailable while uploading ({}); retrying in {} ms", round,
                        e.getStatus().getCode(), wait.toMillis());
                Thread.sleep(wait.toMillis());
            }
        }
        return Optional.empty();
    }

    private SubmitResponse submit(UpdateHeader header, ModelWeights update, byte[] signature,
                                  io.pqfl.proto.v1.PartialAggregate partial, long deadlineUnixMs)
            throws InterruptedException {
        long timeout = Math.max(10_000, Math.min(settings.rpcTimeout().toMillis(),
                deadlineUnixMs - System.currentTimeMillis() + 10_000));
        var upload = UploadPump.start(session.attach(async).withDeadlineAfter(timeout, TimeUnit.MILLISECONDS), header,
                new WeightChunks(update, settings.chunkBytes()), signature, partial);
        try {
            return upload.get(timeout + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) {
                throw s;
            }
            throw Status.fromThrowable(e.getCause()).asRuntimeException();
        } catch (TimeoutException e) {
            throw Status.DEADLINE_EXCEEDED.withDescription("upload timed out").asRuntimeException();
        }
    }
}
