package io.pqfl.coordinator.round;

import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.UpdateStatement;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.SQLException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what happens to updates: an accepted update's spool file (so a restart can reload it) and ledger
 * entry, a refused one's ledger entry, metrics and log line. Rejections are recorded under the session's
 * client id, never a name a header claims; their messages are already escaped and bounded.
 */
final class UpdateRecorder {
    private static final Logger log = LoggerFactory.getLogger(UpdateRecorder.class);

    /**
     * The refusals a retried upload of an accepted update meets: the round still open (its client delivered), or
     * closed since (another round open, or none). Any other refusal keeps its own reason (a replay stays a
     * {@code NONCE_MISMATCH}).
     */
    private static final Set<RejectReason> RETRIED = java.util.EnumSet.of(RejectReason.DUPLICATE, RejectReason.STALE_ROUND,
            RejectReason.NO_OPEN_ROUND);

    private final Ledger ledger;
    private final Checkpoints checkpoints;
    private final CoordinatorMetrics metrics;
    /** Keys already in the database's public_keys table (recording one is a commit: once per key, not per update). */
    private final Set<KeyId> rememberedKeys = ConcurrentHashMap.newKeySet();
    private final AtomicLong spoolIds = new AtomicLong();

    UpdateRecorder(Ledger ledger, Checkpoints checkpoints, CoordinatorMetrics metrics) {
        this.ledger = ledger;
        this.checkpoints = checkpoints;
        this.metrics = metrics;
    }

    /**
     * Spools an update under a name of its own (written and fsynced outside every lock, so concurrent uploads do
     * not queue behind each other's disks); {@link #commit} gives it the client's name once it is accepted.
     */
    Path spool(VerifiedUpdate update, long round) {
        Path part = checkpoints.spool(round).resolve(update.clientId() + "." + spoolIds.incrementAndGet() + ".part");
        try {
            ModelFiles.write(part, update.weights(), null);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot spool update: " + e.getMessage(), e));
        }
        return part;
    }

    /**
     * A refusal of {@code client}'s upload for {@code round}, or, when the ledger holds an update accepted from that
     * client for that round, {@code DUPLICATE} naming it: the answer to an upload retried after its answer was lost
     * (docs/PROTOCOL.md, "Retries"), whether the round is still open or closed since. Only for the session's own
     * client, so no client learns of another's updates.
     */
    RefusedException orAlreadyAccepted(ClientId client, long round, RefusedException refusal) {
        if (!RETRIED.contains(refusal.reason())) {
            return refusal;
        }
        try {
            return ledger.acceptedUpdate(round, client.value())
                    .map(e -> RefusedException.alreadyAccepted(client.value(), round,
                            new RefusedException.Accepted(e.seq(), PayloadDigest.ofBytes(e.payloadDigest()))))
                    .orElse(refusal);
        } catch (SQLException | RuntimeException e) {
            log.warn("Cannot look up {}'s accepted update for round {}: {}", client, round, LogSafe.text(e.getMessage()));
            return refusal;
        }
    }

    /** Records an accepted update (under the engine's lock): its spool file's final name, its key, its ledger entry. */
    long commit(Path part, VerifiedUpdate update, VerifyingKey key, long round) {
        try {
            Files.move(part, checkpoints.spool(round).resolve(update.clientId() + ".bin"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            if (rememberedKeys.add(key.keyId())) {
                ledger.rememberKey(key);
            }
            LedgerEntry entry = ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_ACCEPTED, round,
                    update.clientId().value(), key.keyId().hex(), key.scheme().displayName(), update.statement().encode(),
                    update.signature().bytes(), update.digest().bytes(), null, update.numExamples() + " examples"));
            metrics.updateAccepted();
            log.debug("Accepted update from {} (key {}) for round {}: {} examples, digest {}", update.clientId(), key.keyId(),
                    round, update.numExamples(), update.digest());
            return entry.seq();
        } catch (SQLException | IOException e) {
            throw new UncheckedIOException(new IOException("cannot record update: " + e.getMessage(), e));
        }
    }

    /** Records an accepted update's partial aggregate (under the engine's lock, right after {@link #commit}). */
    void partial(PartialAggregateStatement s, byte[] signature, VerifyingKey key, long round) {
        var p = s.partial();
        try {
            ledger.append(new Ledger.Draft(LedgerEntry.Kind.PARTIAL_AGGREGATE, round, s.update().clientId().value(),
                    key.keyId().hex(), key.scheme().displayName(), s.encode(), signature, s.update().updateDigest().bytes(),
                    null, "aggregator ledger head " + p.aggregatorLedgerHead().hex() + "; child round " + p.childRound()
                    + " of " + LogSafe.text(p.childFederationId(), 64) + "; " + p.receipt().size() + " updates, "
                    + s.update().numExamples() + " examples"));
            log.info("Accepted partial aggregate from {} for round {}: {} updates of its round {}, aggregator ledger head {}",
                    s.update().clientId(), round, p.receipt().size(), p.childRound(), p.aggregatorLedgerHead());
        } catch (SQLException e) {
            throw new UncheckedIOException(new IOException("cannot record partial aggregate: " + e.getMessage(), e));
        }
    }

    static void discard(Path part) {
        try {
            Files.deleteIfExists(part);
        } catch (IOException e) {
            log.warn("Cannot delete {}: {}", part, e.getMessage());
        }
    }

    /** Records a refused update of an authenticated client: metrics always; log and ledger when {@code ledgered}. */
    void rejected(ClientId client, UpdateHeader h, RefusedException e, UpdateStatement attempted,
                  byte[] signature, boolean ledgered) {
        metrics.updateRejected(e.reason().name());
        if (!ledgered) {
            log.debug("Rejected update from {} for round {} (not ledgered: over the per-round limit): {}", client, h.round(), e);
            return;
        }
        // A header refused before the signing policy attributed it may announce no key (the unsigned baseline's).
        log.warn("Rejected update from {} (key {}) for round {}: {}", client, h.announcesKey() ? h.keyId() : "none announced",
                h.round(), e.toString());
        try {
            ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, h.round(), client.value(),
                    h.announcesKey() ? h.keyId().hex() : null, h.announcesKey() ? h.scheme().displayName() : null,
                    attempted == null ? null : attempted.encode(), signature,
                    attempted == null ? null : attempted.updateDigest().bytes(), e.reason().name(), e.getMessage()));
        } catch (SQLException ex) {
            log.error("Cannot record rejection of {} in the ledger", client, ex);
        }
    }

    /** A stream whose header could not be decoded; {@code detail} is escaped and bounded here. */
    void malformed(ClientId client, long round, RejectReason reason, String detail) {
        String safe = LogSafe.text(detail);
        metrics.updateRejected(reason.name());
        log.warn("Rejected update stream from {}: {}: {}", client, reason, safe);
        try {
            ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, round, client.value(), null, null, null, null,
                    null, reason.name(), safe));
        } catch (SQLException ex) {
            log.error("Cannot record rejection in the ledger", ex);
        }
    }
}
