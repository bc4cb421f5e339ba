package io.pqfl.client.agent;

import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.SecAggAwait;
import io.pqfl.proto.v1.SecAggMaskedInput;
import io.pqfl.proto.v1.SecAggPhase;
import io.pqfl.proto.v1.SecAggSealedShare;
import io.pqfl.proto.v1.SecAggStep;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's network side of one round of secure aggregation (docs/PRIVACY.md): phases 1 and 2 before training
 * ({@link #prepare}: advertise keys, get the signed setup, send sealed shares, get the neighbours' shares), phases 3 and
 * 4 after ({@link #deliver}: send the masked input, get the unmask request, reveal). Every wait is bounded by the
 * round's deadline; every way the round ends without this client's update is logged with its reason.
 */
final class SecureRound {
    private static final Logger log = LoggerFactory.getLogger(SecureRound.class);
    private static final int WAIT_MS = 10_000;

    /** The outcome of a round's secure aggregation for this client. */
    record Outcome(boolean accepted, long ledgerSeq, String reason, long bytesSent, long computeNanos) {
    }

    /** Phases 1 and 2 done: the participant, the shares its neighbours sent it, and what it cost so far. */
    record Prepared(SecAggParticipant participant, List<SecAggSealedShare> inbox, long bytesSent, long computeNanos) {
    }

    private final FederationGrpc.FederationBlockingStub blocking;
    private final Session session;
    private final ClientAgent.Settings settings;
    private final BooleanSupplier stopping;
    private final SecureRandom random = new SecureRandom();

    SecureRound(FederationGrpc.FederationBlockingStub blocking, Session session, ClientAgent.Settings settings,
                BooleanSupplier stopping) {
        this.blocking = blocking;
        this.session = session;
        this.settings = settings;
        this.stopping = stopping;
    }

    /** Phases 1 and 2; null (logged) when this client is left out of the round or refuses its setup. */
    Prepared prepare(Task task) throws InterruptedException {
        long round = task.round();
        long deadline = task.header().getDeadlineUnixMs();
        SecAggParticipant p = new SecAggParticipant(session.federationId(), round,
                RoundNonce.of(task.header().getNonce().toByteArray()), settings.clientId(), Signer.create(settings.key()),
                settings.coordinatorKey(), random);
        try {
            long t0 = System.nanoTime();
            var ad = p.advertisement();
            long compute = System.nanoTime() - t0;
            session.attach(blocking).withDeadlineAfter(30, TimeUnit.SECONDS).advertiseKeys(ad);
            SecAggStep setup = await(round, SecAggPhase.ADVERTISE, deadline);
            if (setup == null || !setup.hasSetup()) {
                return null;
            }
            t0 = System.nanoTime();
            var shares = p.shares(setup.getSetup());
            compute += System.nanoTime() - t0;
            session.attach(blocking).withDeadlineAfter(30, TimeUnit.SECONDS).shareKeys(shares);
            SecAggStep inbox = await(round, SecAggPhase.SHARE, deadline);
            if (inbox == null) {
                return null;
            }
            log.debug("Round {}: secure aggregation set up with {} neighbours, {} shares received", round,
                    setup.getSetup().getNeighboursCount(), inbox.getInboxCount());
            return new Prepared(p, inbox.getInboxList(), ad.getSerializedSize() + shares.getSerializedSize(), compute);
        } catch (SecAggParticipant.Refused e) {
            log.error("Round {}: refusing the coordinator's secure-aggregation setup: {}", round, e.getMessage());
            return null;
        } catch (StatusRuntimeException e) {
            log.warn("Round {}: secure aggregation refused this client: {}", round, e.getStatus());
            return null;
        } catch (RuntimeException e) {
            // A neighbour's unusable material must cost this client the round, never its agent.
            log.error("Round {}: the secure-aggregation setup is unusable: {}", round, e.toString());
            return null;
        }
    }

    /** Phases 3 and 4. */
    Outcome deliver(Task task, Prepared prepared, ModelWeights trained, long examples) throws InterruptedException {
        long round = task.round();
        long deadline = task.header().getDeadlineUnixMs();
        float[][] t = arrays(trained);
        float[][] g = arrays(task.model());
        SecAggMaskedInput masked;
        long compute = prepared.computeNanos();
        try {
            long t0 = System.nanoTime();
            masked = prepared.participant().maskedInput(prepared.inbox(), t, g, examples);
            compute += System.nanoTime() - t0;
        } catch (SecAggParticipant.Refused | RuntimeException e) {
            log.error("Round {}: not sending a masked input: {}", round, e.getMessage());
            return new Outcome(false, 0, "SECAGG_REFUSED", prepared.bytesSent(), compute);
        }
        if (!prepared.participant().unopened().isEmpty()) {
            log.warn("Round {}: the shares of {} did not open or match their signed digests; masked with them anyway",
                    round, prepared.participant().unopened());
        }
        long sent = prepared.bytesSent() + masked.getSerializedSize();
        SubmitResponse r;
        try {
            r = session.attach(blocking).withDeadlineAfter(60, TimeUnit.SECONDS).submitMaskedInput(masked);
        } catch (StatusRuntimeException e) {
            String reason = RejectReason.fromTrailer(e.getTrailers() == null ? null
                    : e.getTrailers().get(io.grpc.Metadata.Key.of(io.pqfl.protocol.Rejections.REASON_TRAILER, io.grpc.Metadata.ASCII_STRING_MARSHALLER)))
                    .map(Enum::name).orElse(e.getStatus().getCode().name());
            log.warn("Round {}: masked input refused: {}", round, e.getStatus());
            return new Outcome(false, 0, reason, sent, compute);
        }
        try {
            SecAggStep unmask = await(round, SecAggPhase.MASKED_INPUT, deadline + 120_000);
            if (unmask == null || !unmask.hasUnmask()) {
                return new Outcome(true, r.getLedgerSeq(), "NOT_UNMASKED", sent, compute);
            }
            long t0 = System.nanoTime();
            var reveal = prepared.participant().reveal(unmask.getUnmask());
            compute += System.nanoTime() - t0;
            session.attach(blocking).withDeadlineAfter(30, TimeUnit.SECONDS).revealShares(reveal);
            sent += reveal.getSerializedSize();
        } catch (SecAggParticipant.Refused e) {
            log.error("Round {}: refusing the unmask request: {}", round, e.getMessage());
        } catch (StatusRuntimeException e) {
            log.warn("Round {}: the unmask phase failed for this client: {}", round, e.getStatus());
        } catch (RuntimeException e) {
            log.error("Round {}: the unmask request is unusable: {}", round, e.toString());
        }
        return new Outcome(true, r.getLedgerSeq(), null, sent, compute);
    }

    /** Waits for the step after {@code after}; null (logged) when this client is excluded, or at the deadline. */
    private SecAggStep await(long round, SecAggPhase after, long deadlineUnixMs) throws InterruptedException {
        while (!stopping.getAsBoolean()) {
            if (System.currentTimeMillis() > deadlineUnixMs) {
                log.warn("Round {}: the round's deadline passed while waiting for the phase after {}", round, after);
                return null;
            }
            SecAggStep step = session.attach(blocking).withDeadlineAfter(WAIT_MS + 20_000, TimeUnit.MILLISECONDS)
                    .awaitSecAgg(SecAggAwait.newBuilder().setRound(round).setAfter(after).setWaitMs(WAIT_MS).build());
            if (step.getPending()) {
                continue;
            }
            if (!step.getExcluded().isEmpty()) {
                log.warn("Round {}: {}", round, step.getExcluded());
                return null;
            }
            return step;
        }
        return null;
    }

    private static float[][] arrays(ModelWeights w) {
        float[][] out = new float[w.tensorCount()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = w.tensor(i);
        }
        return out;
    }
}
