package io.pqfl.coordinator.round;

import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs global models and keeps them on disk: each published model's checkpoint with its signed statement,
 * and the strategy's state beside it, bound into the statement by its digest.
 */
final class Checkpoints {
    private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);

    private final String federationId;
    private final Signer signer;
    private final DataDirectory dataDir;

    Checkpoints(String federationId, Signer signer, DataDirectory dataDir) {
        this.federationId = Objects.requireNonNull(federationId, "federationId");
        this.signer = Objects.requireNonNull(signer, "signer");
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    }

    Path checkpoint(long round) {
        return dataDir.checkpoint(round);
    }

    Path strategyState(long round) {
        return dataDir.strategyState(round);
    }

    Path spool(long round) {
        return dataDir.spool(round);
    }

    /**
     * Signs the model over the ledger head and writes its checkpoint. The store calls this under the database
     * lock (a Ledger.Publication) and appends the model's ledger entry right after {@code head}; so it must not
     * take the engine's lock (threads holding that lock wait for the database's).
     */
    /** Signs a model statement of this federation without writing a checkpoint (a model adopted from a parent). */
    SignedModel sign(long round, ModelWeights model, PayloadDigest parent, LedgerHead head) {
        ModelStatement statement = new ModelStatement(federationId, round, model.digest(), parent, head, null,
                List.of(), signer.scheme(), signer.keyId());
        return new SignedModel(statement, signer.sign(statement.encode()));
    }

    SignedModel signAndWrite(long round, ModelWeights model, PayloadDigest parent, List<ReceiptEntry> receipt,
                             PayloadDigest strategyState, LedgerHead head) throws IOException {
        ModelStatement statement = new ModelStatement(federationId, round, model.digest(), parent, head, strategyState,
                receipt, signer.scheme(), signer.keyId());
        SignedModel signed = new SignedModel(statement, signer.sign(statement.encode()));
        ModelFiles.write(checkpoint(round), model, signed);
        return signed;
    }

    /**
     * Restores the strategy's state (a server optimiser's moments) from its file, but only the state the
     * checkpoint's signed statement names: a state file changed on disk would steer the next signed model.
     */
    void restoreStrategyState(Strategy strategy, long round, PayloadDigest signed) throws IOException {
        Path file = strategyState(round);
        if (signed == null) {
            if (Files.exists(file)) {
                log.warn("Ignoring {}: the round {} model's signed statement names no strategy state", file, round);
            }
            return;
        }
        if (!Files.exists(file)) {
            throw new IOException(file + " is missing: the round " + round + " model's signed statement names strategy state "
                    + signed);
        }
        ModelWeights state = ModelFiles.read(file).weights();
        if (!state.digest().matches(signed)) {
            throw new IOException(file + " does not match the strategy state the round " + round
                    + " model's signed statement names (changed on disk?)");
        }
        strategy.restore(state);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
