package io.pqfl.coordinator.round;

import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.secagg.SecAggRound;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.proto.v1.SecAggMaskedInput;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.RejectReason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The masked-input path of secure aggregation, beside {@link Uploads}: a masked input goes through the same round
 * machine transitions as an update (begun, verified, recorded, or ended with a refusal), so the rejection limit,
 * duplicates, the round's deadline and its closing work the same; it is checked by the round's {@link SecAggRound},
 * added to its sum and ledgered as {@link LedgerEntry.Kind#SECAGG_INPUT_ACCEPTED}. Nothing is spooled: a masked
 * input is useless without the round's protocol state, which a restart loses (docs/PRIVACY.md).
 */
final class MaskedInputs {
    private static final Logger log = LoggerFactory.getLogger(MaskedInputs.class);
    /** Upload ids of masked inputs: far from {@link Uploads}' (which count up from 1), so the machine never mixes them. */
    private final AtomicLong ids = new AtomicLong(Long.MIN_VALUE / 2);

    private final FederationEngine engine;
    private final Ledger ledger;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final Set<KeyId> rememberedKeys = ConcurrentHashMap.newKeySet();

    MaskedInputs(FederationEngine engine, Ledger ledger, CoordinatorMetrics metrics, Clock clock) {
        this.engine = engine;
        this.ledger = ledger;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Checks, adds and ledgers a masked input; returns its ledger sequence number. */
    long submit(SecAggRound secure, SecAggMaskedInput msg, Sessions.Session session) throws RefusedException {
        ClientId client = session.clientId();
        long round = msg.getRound();
        long id = ids.incrementAndGet();
        ReentrantLock lock = engine.lock();
        RoundMachine.Admission a;
        lock.lock();
        try {
            if (engine.machine().overRejectionLimit(client)) {
                throw new RefusedException(RejectReason.REJECTION_LIMIT, "client " + client + " had "
                        + FederationEngine.MAX_REJECTIONS_PER_ROUND + " messages refused in this round");
            }
            a = engine.machine().uploadBegun(id, client, round);
        } finally {
            lock.unlock();
        }
        if (!a.allowed()) {
            RefusedException e = new RefusedException(a.refusal(), a.why());
            ended(-1, client, round, e);
            throw e;
        }
        SecAggRound.Masked m;
        try {
            m = secure.check(client, msg);
        } catch (RefusedException e) {
            ended(id, client, round, e);
            throw e;
        }
        long seq;
        List<Effect> effects;
        lock.lock();
        try {
            a = engine.machine().updateVerified(id, client, round);
            if (!a.allowed()) {
                throw new RefusedException(a.refusal(), a.why());
            }
            secure.add(m);
            if (rememberedKeys.add(m.key().keyId())) {
                ledger.rememberKey(m.key());
            }
            LedgerEntry entry = ledger.append(new Ledger.Draft(LedgerEntry.Kind.SECAGG_INPUT_ACCEPTED, round, client.value(),
                    m.key().keyId().hex(), m.key().scheme().displayName(), m.statement().encode(), m.signature().bytes(),
                    m.digest().bytes(), null, m.vector().length + " masked 64-bit words"));
            seq = entry.seq();
            RoundWork w = engine.training().work();
            w.receipt.add(new ReceiptEntry(client, m.digest(), 0));
            w.counted.add(client);
            metrics.updateAccepted();
            effects = engine.machine().updateRecorded(client, round, clock.instant());
        } catch (RefusedException e) {
            lock.unlock();
            ended(id, client, round, e);
            throw e;
        } catch (SQLException e) {
            lock.unlock();
            ended(id, client, round, null);
            throw new UncheckedIOException(new IOException("cannot record masked input: " + e.getMessage(), e));
        } finally {
            if (lock.isHeldByCurrentThread()) {
                lock.unlock();
            }
        }
        log.debug("Accepted masked input from {} for round {}: digest {}", client, round, m.digest());
        engine.carryOut(effects);
        return seq;
    }

    /** A masked input that will not be added ({@code e} null: the coordinator failed, not the client). */
    private void ended(long id, ClientId client, long round, RefusedException e) {
        RoundMachine.Ended end;
        ReentrantLock lock = engine.lock();
        lock.lock();
        try {
            end = engine.machine().uploadEnded(id, client, round, e == null ? null : e.reason(), clock.instant());
        } finally {
            lock.unlock();
        }
        if (e != null) {
            metrics.updateRejected(e.reason().name());
            if (end.record()) {
                log.warn("Rejected masked input from {} for round {}: {}", client, round, e.toString());
                try {
                    ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, round, client.value(), null, null, null,
                            null, null, e.reason().name(), LogSafe.text(e.getMessage())));
                } catch (SQLException ex) {
                    log.error("Cannot record rejection of {} in the ledger", client, ex);
                }
            }
        }
        engine.carryOut(end.effects());
    }
}
