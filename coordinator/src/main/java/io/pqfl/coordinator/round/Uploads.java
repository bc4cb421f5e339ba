package io.pqfl.coordinator.round;

import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.PartialAggregate;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.coordinator.verify.ReceiptVerifier;
import io.pqfl.protocol.UpdateStatement;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upload path around the state machine: an upload begins only when the session, the header, the budget and
 * the machine all allow it; its update is verified outside every lock and recorded (spooled, ledgered, folded)
 * only if the machine still wants it; every way out frees its budget slot and tells the machine.
 */
final class Uploads {
    private static final Logger log = LoggerFactory.getLogger(Uploads.class);

    private final FederationEngine engine;
    private final UpdateVerifier verifier;
    private final UploadBudget budget;
    private final UpdateRecorder recorder;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final Executor later;
    private final Supplier<UpdateListener> listener;
    private final ReceiptVerifier receipts;
    private final Map<Long, Upload> inProgress = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    Uploads(FederationEngine engine, UpdateVerifier verifier, UploadBudget budget, UpdateRecorder recorder,
            CoordinatorMetrics metrics, Clock clock, Executor later, Supplier<UpdateListener> listener,
            ReceiptVerifier receipts) {
        this.receipts = receipts;
        this.engine = engine;
        this.verifier = verifier;
        this.budget = budget;
        this.recorder = recorder;
        this.metrics = metrics;
        this.clock = clock;
        this.later = later;
        this.listener = listener;
    }

    /** The upload with this id, if it is still in progress (to end its stream when superseded). */
    Upload get(long id) {
        return inProgress.get(id);
    }

    /**
     * Starts an upload for an authenticated session: the header must name the session's client and key (or, in the
     * unsigned baseline, no key: it is the session's), and pass the signing policy's and the round's checks; the
     * machine must want an update from this client now (a newer upload of the same client supersedes an older one,
     * whose slot is freed at once and whose stream {@code cancelStream} ends); a slot of the upload budget is
     * reserved, or the upload is refused BUSY.
     */
    Upload begin(UpdateHeader claimed, Sessions.Session session, Runnable cancelStream)
            throws RefusedException {
        long id = ids.incrementAndGet();
        Upload upload;
        Upload superseded = null;
        UpdateHeader header = claimed;
        ReentrantLock lock = engine.lock();
        lock.lock();
        try {
            RoundMachine machine = engine.machine();
            if (!header.clientId().equals(session.clientId())
                    || header.announcesKey() && !header.keyId().equals(session.keyId())) {
                throw new RefusedException(RejectReason.SESSION_MISMATCH, "the update names client " + header.clientId()
                        + (header.announcesKey() ? " and key " + header.keyId() : "") + ", the session is "
                        + session.clientId() + "'s with key " + session.keyId());
            }
            if (machine.overRejectionLimit(header.clientId())) {
                throw new RefusedException(RejectReason.REJECTION_LIMIT, "client " + header.clientId() + " had "
                        + FederationEngine.MAX_REJECTIONS_PER_ROUND + " updates refused in this round; it may not try again "
                        + "before the next");
            }
            if (engine.secureAggregation()) {
                throw new RefusedException(RejectReason.SECURE_AGGREGATION_REQUIRED, "round " + header.round()
                        + " runs secure aggregation: send the masked input (SubmitMaskedInput), not the update");
            }
            header = verifier.checkSigning(header, session.keyId());
            RoundWork w = machine.stage() == Stage.ROUND_OPEN ? engine.training().work() : null;
            VerifyingKey key = verifier.checkHeader(header, w == null ? null : w.context);
            if (machine.delivered(header.clientId(), header.round())) {
                // A retry of a delivered update: answered before the budget, so a busy coordinator does not keep it
                // waiting (DUPLICATE with the ledger entry, or BUSY while it is still being recorded).
                RoundMachine.Admission a = machine.uploadBegun(id, header.clientId(), header.round());
                if (a.allowed()) {
                    throw new IllegalStateException("the round admitted an upload of " + header.clientId()
                            + ", whose update it already has");
                }
                throw new RefusedException(a.refusal(), a.why());
            }
            long held = w == null ? 0 : w.aggregator.heldBytes();
            if (!budget.tryReserve(budget.perUpload(), held)) {
                throw new RefusedException(RejectReason.BUSY, "the coordinator has " + budget.uploads()
                        + " uploads in progress (limit " + budget.describe() + ")" + (held == 0 ? "" : " and round "
                        + w.round() + " holds its " + w.aggregator.count() + " accepted updates (" + (held >> 10)
                        + " KiB) until it closes") + "; retry shortly");
            }
            RoundMachine.Admission a = machine.uploadBegun(id, header.clientId(), header.round());
            if (!a.allowed()) {
                budget.release(budget.perUpload());
                throw new RefusedException(a.refusal(), a.why());
            }
            upload = new Upload(this, id, header, key, budget.perUpload(), cancelStream);
            inProgress.put(id, upload);
            for (Effect e : a.effects()) {
                if (e instanceof Effect.Supersede s && inProgress.get(s.uploadId()) != null) {
                    superseded = inProgress.get(s.uploadId());
                    releaseSlot(superseded);
                }
            }
        } catch (RefusedException e) {
            RefusedException answer = recorder.orAlreadyAccepted(session.clientId(), header.round(), e);
            refused(session.clientId(), header, answer);
            throw answer;
        } finally {
            lock.unlock();
        }
        if (superseded != null) {
            superseded.cancelStream.run();
        }
        return upload;
    }

    void bytesReceived(int n) {
        metrics.bytesReceived(n);
    }

    VerifiedUpdate verify(UpdateHeader h, VerifyingKey key, WeightsReceiver received, SignatureValue signature)
            throws RefusedException {
        try {
            return metrics.timeVerification(() -> {
                try {
                    return verifier.verify(h, key, received, signature);
                } catch (RefusedException e) {
                    throw new Rejected(e);
                }
            });
        } catch (Rejected r) {
            throw r.rejection;
        }
    }

    /** The partial aggregate an aggregator sent with its verified update: decoded, its signature and receipt checked. */
    PartialAggregateStatement verifyPartial(VerifiedUpdate update, VerifyingKey key,
                                            io.pqfl.proto.v1.PartialAggregate wire) throws RefusedException {
        PartialAggregate partial;
        try {
            partial = WireMapping.fromWire(wire);
        } catch (IllegalArgumentException e) {
            throw new RefusedException(RejectReason.BAD_RECEIPT, "malformed partial aggregate: " + LogSafe.text(e.getMessage()));
        }
        return receipts.verify(update, key, partial, wire.getSignature().toByteArray());
    }

    private static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient RefusedException rejection;

        Rejected(RefusedException rejection) {
            super(rejection.getMessage(), null, false, false);
            this.rejection = rejection;
        }
    }

    /** Records a verified update if the machine still wants it: spooled, ledgered, folded; returns its ledger entry. */
    long record(Upload u, VerifiedUpdate update, PartialAggregateStatement partial, byte[] partialSignature,
                long verifyNanos, long bytes) throws RefusedException {
        ClientId client = u.header.clientId();
        long round = u.header.round();
        ReentrantLock lock = engine.lock();
        RoundMachine.Admission admission;
        lock.lock();
        try {
            RoundWork w = engine.training().work();
            RoundMachine.Admission twice = w != null && w.round() == round ? countedOnce(w, client, partial) : null;
            admission = twice != null ? twice : engine.machine().updateVerified(u.id, client, round);
        } finally {
            lock.unlock();
        }
        if (!admission.allowed()) {
            RefusedException e = recorder.orAlreadyAccepted(client, round,
                    new RefusedException(admission.refusal(), admission.why()));
            ended(u, e, update.statement(), update.signature().bytes());
            throw e;
        }
        Path part;
        try {
            part = recorder.spool(update, round); // written and fsynced outside the lock
        } catch (UncheckedIOException e) {
            ended(u, null, null, null);
            throw e;
        }
        long seq = -1;
        List<Effect> effects;
        lock.lock();
        try {
            seq = recorder.commit(part, update, u.key, round);
            if (partial != null) {
                recorder.partial(partial, partialSignature, u.key, round);
            }
            RoundWork w = engine.training().work();
            w.fold(update);
            w.counted.add(client);
            if (partial != null) {
                partial.partial().receipt().forEach(e -> w.counted.add(e.clientId()));
            }
            if (u.reported != null) {
                engine.training().work().report(update.numExamples(), u.reported);
            }
            effects = engine.machine().updateRecorded(client, round, clock.instant());
            releaseSlot(u);
            inProgress.remove(u.id);
        } catch (RuntimeException | Error e) {
            if (seq < 0) { // nothing ledgered: the upload failed, its client may try again
                UpdateRecorder.discard(part);
                lock.unlock();
                ended(u, null, null, null);
                throw e;
            }
            // Ledgered accepted, but not (or not wholly) folded and counted: the round's aggregate can no longer be
            // trusted to match its ledger, so the coordinator stops with the reason rather than wait on a recording
            // that will never end. A restart resumes the round from the ledger and the spool.
            releaseSlot(u);
            inProgress.remove(u.id);
            lock.unlock();
            engine.fail(new IllegalStateException("update " + seq + " of " + client + " for round " + round
                    + " was ledgered but could not be folded into the round: " + e, e));
            throw e;
        } finally {
            if (lock.isHeldByCurrentThread()) {
                lock.unlock();
            }
        }
        engine.carryOut(effects);
        listener.get().accepted(client, round, verifyNanos, bytes);
        return seq;
    }

    /**
     * Under the lock: refused when a client this update counts (its sender, or a client its receipt names) was
     * already counted in the round, directly or through an aggregator.
     */
    private static RoundMachine.Admission countedOnce(RoundWork w, ClientId client, PartialAggregateStatement partial) {
        if (w.counted.contains(client)) {
            return RoundMachine.Admission.refused(RejectReason.DUPLICATE, "client " + client
                    + "'s update was already counted in round " + w.round() + " through an aggregator's receipt");
        }
        if (partial != null) {
            for (var e : partial.partial().receipt()) {
                if (w.counted.contains(e.clientId()) || e.clientId().equals(client)) {
                    return RoundMachine.Admission.refused(RejectReason.BAD_RECEIPT, "the receipt names client "
                            + e.clientId() + ", whose update round " + w.round() + " already counts");
                }
            }
        }
        return null;
    }

    /** An upload ended without an accepted update ({@code e} null: its own stream or disk failed). */
    void ended(Upload u, RefusedException e, UpdateStatement attempted, byte[] signature) {
        RoundMachine.Ended end;
        ReentrantLock lock = engine.lock();
        lock.lock();
        try {
            end = engine.machine().uploadEnded(u.id, u.header.clientId(), u.header.round(), e == null ? null : e.reason(),
                    clock.instant());
            releaseSlot(u);
            inProgress.remove(u.id);
        } finally {
            lock.unlock();
        }
        if (e != null) {
            recorder.rejected(u.header.clientId(), u.header, e, attempted, signature, end.record());
            listener.get().rejected(u.header.clientId().value(), u.header.round(), e.reason());
        }
        engine.carryOut(end.effects());
    }

    /** Under the lock. */
    private void releaseSlot(Upload u) {
        if (u.slotHeld) {
            u.slotHeld = false;
            budget.release(u.reserved);
        }
    }

    /** A refusal before the upload began (under the lock: header checks, budget, the machine's admission). */
    private void refused(ClientId client, UpdateHeader h, RefusedException e) {
        if (e.reason() == RejectReason.BUSY || e.reason() == RejectReason.REJECTION_LIMIT) {
            metrics.updateRejected(e.reason().name());
            log.debug("Upload of {} for round {} refused: {}", client, h.round(), e.getMessage());
            return;
        }
        RoundMachine.Ended end = engine.machine().uploadEnded(-1, client, h.round(), e.reason(), clock.instant());
        recorder.rejected(client, h, e, null, null, end.record());
        listener.get().rejected(client.value(), h.round(), e.reason());
        later.execute(() -> engine.carryOut(end.effects())); // not under the lock
    }

    /** A stream whose header could not be decoded, from an authenticated client. */
    void malformed(ClientId client, long round, RejectReason reason, String detail) {
        RoundMachine.Ended end;
        ReentrantLock lock = engine.lock();
        lock.lock();
        try {
            end = engine.machine().uploadEnded(-1, client, round, reason, clock.instant());
        } finally {
            lock.unlock();
        }
        if (end.record()) {
            recorder.malformed(client, round, reason, detail);
        }
        listener.get().rejected(client.value(), round, reason);
        engine.carryOut(end.effects());
    }
}
