package io.pqfl.coordinator.round;

import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.evaluate.Evaluation;
import io.pqfl.coordinator.evaluate.EvaluationChecks;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.evaluate.WeightedMeans;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TaskKind;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's evaluation adapter: it carries out the machine's evaluation effects and records every kind of
 * evaluation. {@link Effect.OpenEvaluation}: the {@code evaluations} row and the {@link EvaluationWork} (signed
 * EVALUATE tasks of the published model), under the engine's lock; {@link Effect.CloseEvaluation}: the
 * example-weighted aggregate and its ledger entry, then {@link RoundMachine#evaluationClosed}, on the closing thread.
 * Reports come in through {@link Evaluations}. After each round closes it records the clients' reported metrics and,
 * when a central evaluator is configured, the central evaluation of the new model. It keeps the newest aggregate of
 * each source for status calls.
 */
final class EvaluationDriver {
    private static final Logger log = LoggerFactory.getLogger(EvaluationDriver.class);

    private final FederationEngine engine;
    private final CoordinatorConfig config;
    private final Strategy strategy;
    private final Strategy sampling;
    private final Signer signer;
    private final RunStore runs;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final Evaluations reports;
    private final Map<EvaluationSummary.Source, EvaluationSummary> last = new ConcurrentHashMap<>();
    private EvaluationWork work; // guarded by the engine's lock

    /**
     * @param strategy the federation's strategy (it configures the EVALUATE tasks)
     * @param sampling the strategy that chooses evaluators: the plain one, never a differential-privacy wrapper, whose
     *     {@code sample} records the share it is given as a training round's sampling rate
     */
    EvaluationDriver(FederationEngine engine, CoordinatorConfig config, Strategy strategy, Strategy sampling, Signer signer,
                     RunStore runs, Ledger ledger, UpdateVerifier verifier, CoordinatorMetrics metrics, Clock clock) {
        this.engine = engine;
        this.config = config;
        this.strategy = strategy;
        this.sampling = sampling;
        this.signer = signer;
        this.runs = runs;
        this.metrics = metrics;
        this.clock = clock;
        this.reports = new Evaluations(engine, this, verifier, ledger, metrics, clock, config.signingPolicy(),
                config.maxExamplesPerUpdate());
    }

    /**
     * The machine's evaluator sampling: the plain strategy's sampling hook, drawing from a random stream of its own, so that
     * evaluation does not change which clients train.
     */
    RoundMachine.Sampler evaluators() {
        Random random = new Random(config.seed() ^ 0x6576616cL);
        return (round, candidates) -> sampling.sample(round, candidates, config.evaluatorCount(candidates.size()),
                random);
    }

    /** At start-up: evaluations open when the coordinator stopped are abandoned (they are not resumed). */
    void abandonUnfinished() throws SQLException {
        int abandoned = runs.abandonOpenEvaluations();
        if (abandoned > 0) {
            log.warn("{} evaluation(s) open when the coordinator stopped are abandoned: evaluations are not resumed", abandoned);
        }
    }

    /** Under the engine's lock: persists the evaluation the machine opened and builds its working parts. */
    void opened(Effect.OpenEvaluation open, GlobalModel global) throws SQLException {
        RoundPlan plan = open.plan();
        runs.openEvaluation(plan.round(), plan.nonce(), plan.sampled());
        if (global.round() != plan.round()) {
            throw new IllegalStateException("evaluating round " + plan.round() + " but the global model is round "
                    + global.round() + "'s");
        }
        RoundTask task = new RoundTask(config.federationId(), TaskKind.EVALUATE, plan, global, signer,
                client -> strategy.configureClient(plan.round(), client, config.trainingFor(plan.round())));
        work = new EvaluationWork(new EvaluationChecks.Context(config.federationId(), plan.round(), plan.nonce(),
                global.signed().statement().modelDigest()), task, clock.instant());
        log.info("Evaluation of round {}'s model open: {} of {} {} sampled, nonce {}, deadline {}",
                plan.round(), plan.sampled().size(), open.live(), config.samplingPool(), plan.nonce(), plan.deadline());
    }

    /** On the closing thread: records the aggregate of the evaluation the machine closed, then tells the machine. */
    void close(Effect.CloseEvaluation c) {
        EvaluationWork w = current();
        EvaluationSummary s = w != null && w.round() == c.round() ? w.summary()
                : new WeightedMeans().summary(c.round(), EvaluationSummary.Source.FEDERATED);
        if (c.why() != null) {
            log.warn("The evaluation of round {}'s model closed without evaluations: {}", c.round(), c.why());
        }
        record(s, new Ledger.Draft(LedgerEntry.Kind.EVALUATION_CLOSED, c.round(), null, null, null, null, null, null,
                EvaluationSummary.Source.FEDERATED.name(), s.describe() + " (" + c.answered().size() + " of "
                + c.sampled() + " evaluators answered" + (c.why() == null ? "" : "; " + c.why()) + ")"));
        engine.feed(m -> {
            work = null;
            return m.evaluationClosed(c.round(), clock.instant());
        });
    }

    /** The clients' reported metrics of round {@code round}, recorded (so the round's listeners can read them). */
    void recordClientReports(long round, RoundWork w) {
        EvaluationSummary reported = w.clientReports.summary(round, EvaluationSummary.Source.CLIENT_REPORTS);
        if (!reported.empty()) {
            record(reported, null);
        }
    }

    /** The central evaluation of the model round {@code round} published ({@code published}, null if none). */
    void evaluatePublished(long round, ModelWeights published) {
        if (published != null && config.centralEvaluator() != null) {
            evaluateCentrally(round, published);
        }
    }

    /** The central evaluator, off the lock; a failure or an invalid result is logged, not fatal. */
    private void evaluateCentrally(long round, ModelWeights model) {
        Evaluation result;
        try {
            result = config.centralEvaluator().evaluate(round, model);
        } catch (RuntimeException e) {
            log.error("The central evaluation of round {}'s model failed; nothing is recorded", round, e);
            return;
        }
        if (result == null) {
            log.warn("The central evaluator returned nothing for round {}'s model", round);
            return;
        }
        WeightedMeans one = new WeightedMeans();
        one.add(result.examples(), result.loss(), result.metrics());
        EvaluationSummary s = one.summary(round, EvaluationSummary.Source.CENTRAL);
        record(s, new Ledger.Draft(LedgerEntry.Kind.EVALUATION_CLOSED, round, null, null, null, null, null, null,
                EvaluationSummary.Source.CENTRAL.name(), s.describe()));
    }

    /** Stores an aggregate (with its ledger entry, if any), updates the gauges and the status. */
    private void record(EvaluationSummary s, Ledger.Draft entry) {
        try {
            runs.recordEvaluation(s, entry);
        } catch (SQLException e) {
            log.error("Cannot record the {} evaluation of round {}", s.source(), s.round(), e);
            return;
        }
        metrics.evaluation(s);
        last.put(s.source(), s);
        log.info("{} evaluation of round {}'s model: {}", s.source(), s.round(), s.describe());
    }

    /** {@link FederationEngine#submitEvaluation}. */
    long submit(EvaluationReport report, Sessions.Session session) throws RefusedException {
        return reports.submit(report, session);
    }

    /** The newest aggregate of {@code source}, for status calls. */
    Optional<EvaluationSummary> last(EvaluationSummary.Source source) {
        return Optional.ofNullable(last.get(source));
    }

    /** Under the engine's lock: the open evaluation's working parts (null when none is open). */
    EvaluationWork work() {
        return work;
    }

    /** The open evaluation's working parts, or null (takes the engine's lock). */
    EvaluationWork current() {
        return engine.locked(() -> work);
    }
}
