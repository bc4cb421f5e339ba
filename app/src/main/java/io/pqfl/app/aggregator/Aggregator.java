package io.pqfl.app.aggregator;

import io.pqfl.client.agent.ClientAgent;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.PartialAggregate;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.PartialReceiptEntry;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An aggregator tier (docs/AGGREGATOR.md): a coordinator to its own clients and a client to its parent. Its
 * {@link #trainer()} is what the {@link ClientAgent} that talks to the parent trains with: {@code fit(global)} adopts
 * the parent's model as the base of the next round of the aggregator's own coordinator (whose rounds are held until
 * then: {@code CoordinatorConfig.holdRounds}), waits for that round to close, and returns its aggregate with the sum
 * of the example counts it folded in, so the parent weighs it as all of them. Its {@link #attachment()} then adds the
 * partial-aggregate statement to the update the agent signed: the child round, the receipt of the updates folded in
 * (each with its client's signature, read back from the aggregator's own ledger) and the head of that ledger at the
 * child round's MODEL_PUBLISHED entry, signed with the aggregator's key.
 *
 * <p>With FedAvg (example-weighted) at both tiers, the parent's model is the flat FedAvg of all the clients' updates.
 */
public final class Aggregator {
    private static final Logger log = LoggerFactory.getLogger(Aggregator.class);

    private final Coordinator coordinator;
    private final SigningKey key;
    private final Duration childRoundWait;
    /** The last child round's result, waiting for the agent to sign its update (agent thread only). */
    private volatile Folded pending;

    /** What one child round folded in, read back from the aggregator's ledger. */
    record Folded(long childRound, RoundNonce childNonce, ModelWeights aggregate, LedgerHead head,
                  List<PartialReceiptEntry> receipt, long examples) {
    }

    /**
     * @param coordinator the aggregator's own coordinator, opened with {@code holdRounds(true)} and started
     * @param key the aggregator's key: it signs the partial-aggregate statements (and is its identity at the parent)
     * @param childRoundWait how long a fit waits for its child round to open and close before it gives up
     */
    public Aggregator(Coordinator coordinator, SigningKey key, Duration childRoundWait) {
        this.coordinator = Objects.requireNonNull(coordinator, "coordinator");
        this.key = Objects.requireNonNull(key, "key");
        this.childRoundWait = Objects.requireNonNull(childRoundWait, "childRoundWait");
        if (!coordinator.config().holdRounds()) {
            throw new IllegalArgumentException("an aggregator's coordinator holds its rounds for its parent (holdRounds)");
        }
    }

    /** The trainer of the agent that talks to the parent: one child round per parent round. */
    public Trainer trainer() {
        return new Trainer() {
            @Override
            public ModelManifest manifest() {
                return coordinator.rounds().globalWeights().manifest();
            }

            @Override
            public FitResult fit(ModelWeights global, TrainContext context) throws TrainerException {
                Folded f = runChildRound(global, context.round());
                pending = f;
                return new FitResult(f.aggregate(), f.examples(), Map.of());
            }

            @Override
            public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                return new EvaluateResult(0, 0, Map.of()); // an aggregator holds no data: it declines evaluations
            }
        };
    }

    /** Adds the signed partial aggregate of the last child round to the update the agent just signed. */
    public ClientAgent.UpdateAttachment attachment() {
        return signed -> {
            Folded f = pending;
            if (f == null || !f.aggregate().digest().equals(signed.updateDigest()) || f.examples() != signed.numExamples()) {
                log.error("The update signed for round {} is not the last child round's aggregate: sent without a receipt",
                        signed.round());
                return null;
            }
            PartialAggregate partial = new PartialAggregate(coordinator.config().federationId(), f.childRound(),
                    f.childNonce(), f.head(), f.receipt());
            PartialAggregateStatement statement = partial.statement(signed);
            return WireMapping.toWire(partial, statement.sign(key));
        };
    }

    private Folded runChildRound(ModelWeights global, long parentRound) throws TrainerException {
        FederationEngine engine = coordinator.rounds();
        long childRound;
        try {
            childRound = engine.release(global);
        } catch (SQLException | IOException | RuntimeException e) {
            throw new TrainerException("cannot open a round of " + coordinator.config().federationId() + " for round "
                    + parentRound + " of the parent: " + e.getMessage(), e);
        }
        log.info("Parent round {}: round {} of {} released on the parent's model {}", parentRound, childRound,
                coordinator.config().federationId(), global.digest());
        Optional<FederationEngine.ClosedRound> closed;
        try {
            closed = engine.awaitClosed(childRound, childRoundWait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted while round " + childRound + " ran", e);
        }
        if (closed.isEmpty()) {
            throw new TrainerException("round " + childRound + " of " + coordinator.config().federationId()
                    + " did not close within " + childRoundWait.toSeconds() + " s");
        }
        if (!closed.get().published()) {
            throw new TrainerException("round " + childRound + " of " + coordinator.config().federationId()
                    + " was skipped (too few updates, or an aggregate that could not be signed): nothing to send");
        }
        try {
            return folded(childRound, closed.get());
        } catch (SQLException | RuntimeException e) {
            throw new TrainerException("cannot read round " + childRound + "'s receipt from the ledger: " + e.getMessage(), e);
        }
    }

    /**
     * The receipt of a closed child round, from the aggregator's ledger: the round's MODEL_PUBLISHED entry (its
     * hash is the head the parent records) and, for each update its signed model statement lists, the update's
     * UPDATE_ACCEPTED entry with the client's statement and signature.
     */
    private Folded folded(long childRound, FederationEngine.ClosedRound closed) throws SQLException {
        List<LedgerEntry> entries = coordinator.ledger().entriesOfRound(childRound);
        LedgerEntry published = null;
        Map<String, LedgerEntry> accepted = new HashMap<>();
        for (LedgerEntry e : entries) {
            if (e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED) {
                published = e;
            } else if (e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED) {
                accepted.put(e.clientId() + "/" + PayloadDigest.ofBytes(e.payloadDigest()).hex(), e);
            }
        }
        if (published == null) {
            throw new IllegalStateException("round " + childRound + " has no MODEL_PUBLISHED entry");
        }
        ModelStatement model = ModelStatement.decode(published.statement());
        if (!model.modelDigest().equals(closed.signed().statement().modelDigest())) {
            throw new IllegalStateException("the ledger's model of round " + childRound + " is not the one published");
        }
        List<PartialReceiptEntry> receipt = new ArrayList<>();
        RoundNonce nonce = null;
        long examples = 0;
        for (ReceiptEntry r : model.receipt()) {
            LedgerEntry e = accepted.get(r.clientId().value() + "/" + r.updateDigest().hex());
            if (e == null) {
                throw new IllegalStateException("the receipt lists an update of " + r.clientId() + " the ledger does not hold");
            }
            UpdateStatement s = UpdateStatement.decode(e.statement());
            nonce = s.nonce();
            receipt.add(new PartialReceiptEntry(r.clientId(), r.updateDigest(), r.numExamples(), s.keyId(), s.scheme(),
                    e.signature()));
            examples = Math.addExact(examples, r.numExamples());
        }
        return new Folded(childRound, nonce, closed.weights(), LedgerHead.of(published.entryHash()), receipt, examples);
    }

    /** The scheme of the aggregator's key (its identity at the parent). */
    public SignatureScheme scheme() {
        return key.scheme();
    }
}
