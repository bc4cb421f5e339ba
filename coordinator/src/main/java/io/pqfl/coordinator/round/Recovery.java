package io.pqfl.coordinator.round;

import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.ModelFileFormat;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateStatement;
import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a federation back from its store at start-up: creates the run and signs the initial model on first
 * start; otherwise checks the data directory belongs to this federation and key, verifies the newest
 * checkpoint's signature, restores the strategy's signed state, and, if a round was open, reloads its accepted
 * updates from the spool and re-verifies each against its ledgered signature. What it finds is then replayed
 * into the round state machine.
 */
final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);

    /** What the store holds: the global model, the closed rounds, and the open round with its accepted updates. */
    record Recovered(GlobalModel global, long lastClosed, RoundRecord openRound, List<VerifiedUpdate> accepted) {
    }

    private final CoordinatorConfig config;
    private final VerifyingKey coordinatorKey;
    private final RunStore runs;
    private final Ledger ledger;
    private final Checkpoints checkpoints;
    private final Strategy strategy;
    private final UpdateVerifier verifier;

    Recovery(CoordinatorConfig config, VerifyingKey coordinatorKey, RunStore runs, Ledger ledger, Checkpoints checkpoints,
             Strategy strategy, UpdateVerifier verifier) {
        this.config = config;
        this.coordinatorKey = coordinatorKey;
        this.runs = runs;
        this.ledger = ledger;
        this.checkpoints = checkpoints;
        this.strategy = strategy;
        this.verifier = verifier;
    }

    Recovered recover(String describedConfig) throws SQLException, IOException {
        Optional<RunStore.RunRecord> run = runs.run();
        if (run.isEmpty()) {
            ModelWeights initial = config.initialModel() != null
                    ? ModelFileFormat.readWeights(config.initialModel()) : config.initialWeights();
            SignedModel signed = runs.createRun(config.federationId(), coordinatorKey, config.rounds(), describedConfig,
                    head -> checkpoints.signAndWrite(0, initial, null, List.of(), null, head));
            log.info("Federation {} created: model {} ({} parameters), digest {}", config.federationId(),
                    initial.manifest().architecture(), initial.manifest().totalElements(), signed.statement().modelDigest());
            return new Recovered(GlobalModel.of(initial, signed, config.chunkBytes()), 0, null, List.of());
        }
        RunStore.RunRecord r = run.get();
        if (!r.federationId().equals(config.federationId())) {
            throw new IllegalStateException(config.dataDir() + " holds federation '" + r.federationId() + "', not '"
                    + config.federationId() + "'");
        }
        if (!r.coordinatorKeyId().equals(coordinatorKey.keyId().hex())) {
            throw new IllegalStateException(config.dataDir() + " was created with coordinator key " + r.coordinatorKeyId()
                    + "; this coordinator's key is " + coordinatorKey.keyId());
        }
        long latest = runs.rounds().stream().filter(x -> x.state() == RoundRecord.State.COMPLETED)
                .mapToLong(RoundRecord::round).max().orElse(0);
        ModelFiles.Stored stored = ModelFiles.read(checkpoints.checkpoint(latest));
        try {
            stored.signature().verify(coordinatorKey, config.federationId(), stored.weights().digest());
        } catch (ModelRejectedException | NullPointerException e) {
            throw new IOException(checkpoints.checkpoint(latest) + ": checkpoint does not verify: " + e.getMessage(), e);
        }
        checkpoints.restoreStrategyState(strategy, latest, stored.signature().statement().strategyStateDigest());
        GlobalModel global = GlobalModel.of(stored.weights(), stored.signature(), config.chunkBytes());
        long lastClosed = runs.lastClosedRound();
        log.info("Federation {} resumed: {} rounds closed, global model from round {}", config.federationId(), lastClosed,
                latest);
        Optional<RoundRecord> open = runs.openRound();
        if (open.isEmpty()) {
            return new Recovered(global, lastClosed, null, List.of());
        }
        RoundRecord record = open.get();
        if (!record.baseModelDigest().matches(global.signed().statement().modelDigest())) {
            throw new IllegalStateException("open round " + record.round() + " was based on model " + record.baseModelDigest()
                    + " but the latest checkpoint is " + global.signed().statement().modelDigest());
        }
        return new Recovered(global, lastClosed, record, reloadAccepted(record));
    }

    /** The open round's accepted updates, from the spool, each re-verified against its ledgered signature. */
    private List<VerifiedUpdate> reloadAccepted(RoundRecord record) throws SQLException, IOException {
        List<VerifiedUpdate> accepted = new ArrayList<>();
        for (LedgerEntry e : ledger.entriesOfRound(record.round())) {
            if (e.kind() != LedgerEntry.Kind.UPDATE_ACCEPTED) {
                continue;
            }
            UpdateStatement statement = UpdateStatement.decode(e.statement());
            VerifyingKey key;
            try {
                key = VerifyingKey.fromEncoded(ledger.publicKey(e.keyId()).orElseThrow(
                        () -> new IOException("ledger entry " + e.seq() + ": key " + e.keyId() + " is not recorded")));
            } catch (KeyFormatException ex) {
                throw new IOException("ledger entry " + e.seq() + ": " + ex.getMessage(), ex);
            }
            ModelWeights weights = ModelFiles.read(checkpoints.spool(record.round()).resolve(statement.clientId() + ".bin"))
                    .weights();
            try {
                accepted.add(verifier.reverify(statement, key, SignatureValue.of(statement.scheme(), e.signature()), weights));
            } catch (RefusedException ex) {
                throw new IOException("spooled update of " + statement.clientId() + " in round " + record.round()
                        + " no longer verifies: " + ex.getMessage(), ex);
            }
        }
        return accepted;
    }
}
