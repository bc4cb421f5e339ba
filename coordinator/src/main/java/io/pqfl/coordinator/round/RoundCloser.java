package io.pqfl.coordinator.round;

import io.pqfl.coordinator.aggregate.AggregationException;
import io.pqfl.coordinator.aggregate.CentralDp;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a round the state machine asked to close: aggregates, and signs and publishes the new model (strategy
 * state first, then checkpoint and ledger entry atomically with the round's row); or skips the round with its
 * reason when too few updates arrived or the aggregate is not one the coordinator may sign. With central
 * differential privacy, a round whose aggregate was noised ledgers its {@code PRIVACY_SPENT} in the same transaction,
 * right before its {@code MODEL_PUBLISHED} or {@code ROUND_SKIPPED}. Runs outside the engine's lock: it is the heavy
 * part of a round.
 */
final class RoundCloser {
    private static final Logger log = LoggerFactory.getLogger(RoundCloser.class);

    /** A closed round: the new global model, or null when it was skipped. */
    record Closed(long round, GlobalModel next, int accepted, int rejected) {
        boolean completed() {
            return next != null;
        }
    }

    private final Strategy strategy;
    private final RunStore runs;
    private final Checkpoints checkpoints;
    private final int minUpdates;
    private final int chunkBytes;

    RoundCloser(Strategy strategy, RunStore runs, Checkpoints checkpoints, int minUpdates, int chunkBytes) {
        this.strategy = strategy;
        this.runs = runs;
        this.checkpoints = checkpoints;
        this.minUpdates = minUpdates;
        this.chunkBytes = chunkBytes;
    }

    Closed close(RoundWork work, Effect.CloseRound c, GlobalModel global) throws SQLException, IOException {
        long number = c.round();
        int accepted = c.accepted().size();
        Closed closed;
        if (!c.aggregate()) {
            skip(number, accepted, c.rejected(), "TOO_FEW_UPDATES", accepted + " accepted, " + minUpdates + " required");
            log.warn("Round {} skipped: {} updates accepted by the deadline, {} required; the global model is unchanged",
                    number, accepted, minUpdates);
            closed = new Closed(number, null, accepted, c.rejected());
        } else {
            ModelWeights next = null;
            String unusable;
            try {
                next = work.aggregator.finish();
                unusable = unusableAggregate(next, work.context.manifest());
            } catch (AggregationException e) {
                unusable = e.getMessage();
            }
            if (unusable != null) {
                // a noised aggregate that is not signed was still computed (and counted): its spending is ledgered
                runs.closeRound(number, RoundRecord.State.SKIPPED, null, accepted, c.rejected(), privacySpent(number),
                        skipped(number, "BAD_AGGREGATE", unusable));
                log.error("Round {} skipped: the aggregate of {} updates is not signable ({}); the global model is unchanged",
                        number, accepted, unusable);
                closed = new Closed(number, null, accepted, c.rejected());
            } else {
                closed = new Closed(number, publish(number, next, work, global, accepted, c.rejected()), accepted,
                        c.rejected());
            }
        }
        Checkpoints.deleteRecursively(checkpoints.spool(number));
        return closed;
    }

    private GlobalModel publish(long number, ModelWeights model, RoundWork work, GlobalModel global, int accepted,
                                int rejected) throws SQLException, IOException {
        Optional<ModelWeights> state = strategy.state();
        if (state.isPresent()) {
            ModelFiles.write(checkpoints.strategyState(number), state.get(), null);
        }
        PayloadDigest stateDigest = state.map(ModelWeights::digest).orElse(null);
        PayloadDigest parent = global.signed().statement().modelDigest();
        SignedModel signed = runs.completeRound(number, accepted, rejected, privacySpent(number),
                head -> checkpoints.signAndWrite(number, model, parent, work.receipt, stateDigest, head));
        log.info("Round {} complete: {} updates aggregated ({} rejected) with {}, new model {} signed", number, accepted,
                rejected, strategy.name(), signed.statement().modelDigest());
        return GlobalModel.of(model, signed, chunkBytes);
    }

    private void skip(long number, int accepted, int rejected, String reason, String detail) throws SQLException {
        runs.closeRound(number, RoundRecord.State.SKIPPED, null, accepted, rejected, skipped(number, reason, detail));
    }

    private static Ledger.Draft skipped(long number, String reason, String detail) {
        return new Ledger.Draft(LedgerEntry.Kind.ROUND_SKIPPED, number, null, null, null, null, null, null, reason, detail);
    }

    /**
     * The {@code PRIVACY_SPENT} entry of round {@code number} when central or distributed DP noised its aggregate (none
     * when DP is off, or the budget refused the round before any noise): ledgered with the round's close, before its
     * entry.
     */
    private List<Ledger.Draft> privacySpent(long number) {
        PrivacySpent spent = strategy instanceof CentralDp dp ? dp.lastSpent()
                : strategy instanceof io.pqfl.coordinator.aggregate.SecureAggregation secure ? secure.lastSpent() : null;
        if (spent != null && spent.round() == number) {
            return List.of(Ledger.Draft.privacySpent(spent));
        }
        return List.of();
    }

    /**
     * Why an aggregate must not be signed, or null when it may: the coordinator signs only finite models built on
     * the round's manifest, whatever the strategy computed.
     */
    static String unusableAggregate(ModelWeights next, ModelManifest roundManifest) {
        if (!next.manifest().equals(roundManifest)) {
            return "its manifest is not the round's: " + roundManifest.describeMismatch(next.manifest());
        }
        int bad = next.firstNonFiniteTensor();
        if (bad >= 0) {
            return "NON_FINITE: tensor " + roundManifest.tensors().get(bad).name() + " contains NaN or infinity";
        }
        return null;
    }
}
