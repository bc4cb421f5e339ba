package io.pqfl.coordinator.round;

import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.aggregate.SecureAggregation;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.secagg.SecAggRound;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.coordinator.verify.RoundContext;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.Signer;
import io.pqfl.protocol.ModelWeights;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's training-round adapter, beside {@link EvaluationDriver}: it keeps the global model and the open
 * round's {@link RoundWork} (both guarded by the engine's lock), carries out {@link Effect.OpenRound} (clear the
 * round's spool, write the round row, build the signed tasks and the strategy's aggregator) under the lock, and
 * {@link Effect.CloseRound} on the closing thread ({@link RoundCloser}, then the round's evaluations, then
 * {@link RoundMachine#roundClosed}).
 */
final class TrainingDriver {
    private static final Logger log = LoggerFactory.getLogger(TrainingDriver.class);

    private final FederationEngine engine;
    private final CoordinatorConfig config;
    private final Strategy strategy;
    private final Signer signer;
    private final RunStore runs;
    private final Checkpoints checkpoints;
    private final RoundCloser closer;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final Supplier<UpdateListener> listener;
    private GlobalModel global; // guarded by the engine's lock
    private RoundWork work; // guarded by the engine's lock

    TrainingDriver(FederationEngine engine, CoordinatorConfig config, Strategy strategy, Signer signer, RunStore runs,
                   Checkpoints checkpoints, CoordinatorMetrics metrics, Clock clock, Supplier<UpdateListener> listener,
                   GlobalModel global) {
        this.engine = engine;
        this.config = config;
        this.strategy = strategy;
        this.signer = signer;
        this.runs = runs;
        this.checkpoints = checkpoints;
        this.closer = new RoundCloser(strategy, runs, checkpoints, config.minUpdates(), config.chunkBytes());
        this.metrics = metrics;
        this.clock = clock;
        this.listener = listener;
        this.global = global;
    }

    /** At start-up, before the machine is restored: the resumed round's work, with its accepted updates folded. */
    void resume(RoundPlan plan, List<VerifiedUpdate> accepted) {
        work = newWork(plan);
        accepted.forEach(work::fold);
        accepted.forEach(u -> work.counted.add(u.clientId()));
        if (strategy.holdsEveryUpdate()) {
            warnIfUpdatesOutgrowBudget(plan, engine.uploadBudget()); // sampled before a restart, perhaps with more heap
        }
    }

    /** Under the engine's lock: a new round is persisted before anyone can act on it. */
    void opened(Effect.OpenRound open) throws SQLException, IOException {
        RoundPlan plan = open.plan();
        Checkpoints.deleteRecursively(checkpoints.spool(plan.round()));
        runs.openRound(new RoundRecord(plan.round(), plan.nonce(), RoundRecord.State.OPEN, plan.sampled(),
                global.signed().statement().modelDigest(), plan.deadline().toEpochMilli(), null));
        work = newWork(plan);
        if (config.roster().isEmpty()) {
            metrics.connectedClients(open.live());
        }
        log.info("Round {} open: {} of {} {} sampled, nonce {}, deadline in {} s", plan.round(),
                plan.sampled().size(), open.live(), config.samplingPool(), plan.nonce(), config.roundTimeout().toSeconds());
    }

    /**
     * A strategy that holds every update, and a resumed round that sampled more clients than their updates fit the
     * budget (a new round never does: the engine caps its sample at {@link UploadBudget#updatesFitting}).
     */
    private void warnIfUpdatesOutgrowBudget(RoundPlan plan, UploadBudget budget) {
        long model = global.weights().manifest().totalBytes();
        int fit = budget.updatesFitting(model);
        if (plan.sampled().size() > fit) {
            log.warn("Round {} samples {} clients, but {} keeps every update until the round closes and the upload memory "
                    + "budget ({}) takes {} of them: the others will be told BUSY until the round closes (at its "
                    + "deadline); raise -Xmx or sample fewer clients", plan.round(), plan.sampled().size(), strategy.name(),
                    UploadBudget.size(budget.maxBytes()), fit);
        }
    }

    /**
     * On the closing thread: aggregates, signs and publishes the round the machine closed, records its evaluations
     * ({@link EvaluationDriver#roundClosed}), then tells the machine. A failure fails the engine.
     */
    void close(Effect.CloseRound c, EvaluationDriver evaluation) {
        RoundWork w = current();
        GlobalModel before = engine.locked(() -> global);
        RoundCloser.Closed closed;
        try {
            closed = closer.close(w, c, before);
        } catch (SQLException | IOException | RuntimeException ex) {
            engine.fail(ex);
            return;
        }
        if (strategy instanceof SecureAggregation secure) {
            secure.round(c.round()).ifPresent(r -> metrics.secureAggregation(r.coordinatorNanos()));
            secure.closed(c.round(), "round " + c.round() + " closed");
        }
        Duration took = Duration.between(w.openedAt, clock.instant());
        metrics.round(closed.completed() ? "completed" : "skipped", took);
        // The clients' reports first, so that a listener hearing of the round finds them; the central evaluation after.
        evaluation.recordClientReports(c.round(), w);
        listener.get().roundClosed(c.round(), closed.completed(), took, closed.accepted(), closed.rejected());
        evaluation.evaluatePublished(c.round(), closed.completed() ? closed.next().weights() : null);
        engine.feed(m -> {
            if (closed.completed()) {
                global = closed.next();
            }
            work = null;
            return m.roundClosed(c.round(), global.round(), clock.instant());
        });
        if (strategy instanceof io.pqfl.coordinator.aggregate.CentralDp dp && c.round() < config.rounds()
                && dp.nextRoundWouldExceedBudget()) {
            engine.fail(new io.pqfl.coordinator.privacy.PrivacyBudgetExhausted(c.round(), dp.totalEpsilon(), config.dp()));
        }
        if (strategy instanceof SecureAggregation secure && secure.dp() != null && c.round() < config.rounds()
                && secure.nextRoundWouldExceedBudget()) {
            engine.fail(new io.pqfl.coordinator.privacy.PrivacyBudgetExhausted(c.round(), secure.totalEpsilon(), config.dp()));
        }
    }

    /**
     * Under the engine's lock, between rounds: {@code model} (the parent's global model, which an aggregator trains its
     * clients on) becomes the global model, signed as of the last closed round {@code lastClosed} with this
     * coordinator's key and ledgered as MODEL_ADOPTED, so the next round's tasks carry it.
     */
    void adopt(ModelWeights model, long lastClosed, io.pqfl.coordinator.store.Ledger ledger) throws SQLException, IOException {
        if (!model.manifest().equals(global.weights().manifest())) {
            throw new IllegalArgumentException("the parent's model is not this federation's: "
                    + global.weights().manifest().describeMismatch(model.manifest()));
        }
        if (model.firstNonFiniteTensor() >= 0) {
            throw new IllegalArgumentException("the parent's model is not finite");
        }
        io.pqfl.crypto.PayloadDigest parent = lastClosed == 0 ? null : global.signed().statement().modelDigest();
        var signed = ledger.appendAdopted(head -> checkpoints.sign(lastClosed, model, parent, head));
        global = GlobalModel.of(model, signed, config.chunkBytes());
        log.info("Adopted the parent's model {} as the base of round {}", model.digest(), lastClosed + 1);
    }

    private RoundWork newWork(RoundPlan plan) {
        ModelWeights model = global.weights();
        RoundContext context = new RoundContext(config.federationId(), plan.round(), plan.nonce(),
                global.signed().statement().modelDigest(), model.manifest(), Set.copyOf(plan.sampled()));
        RoundTask task = new RoundTask(config.federationId(), plan, global, signer,
                client -> strategy.configureClient(plan.round(), client, config.trainingFor(plan.round())));
        if (strategy instanceof SecureAggregation secure) {
            task.withSecureAggregation();
            int parameters = 0;
            for (int t = 0; t < model.tensorCount(); t++) {
                parameters += model.tensor(t).length;
            }
            int p = parameters;
            secure.open(plan.round(), r -> new SecAggRound(config.federationId(), r, plan.nonce(), plan.sampled(),
                    secure.settings(), secure.encodingFor(plan.sampled().size()), secure.noiseFor(plan.sampled().size()), p,
                    signer, engine::enrolledKey,
                    excused -> engine.feed(m -> m.clientsExcused(r, excused, clock.instant())), engine.timer()));
        }
        return new RoundWork(context, strategy.begin(plan.round(), model), task, clock.instant());
    }

    /** Under the engine's lock: the global model. */
    GlobalModel global() {
        return global;
    }

    /** Under the engine's lock: the open round's working parts (null when none is open). */
    RoundWork work() {
        return work;
    }

    /** The open round's working parts, or null (takes the engine's lock). */
    RoundWork current() {
        return engine.locked(() -> work);
    }
}
