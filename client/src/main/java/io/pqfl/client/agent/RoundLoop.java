package io.pqfl.client.agent;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.LocalMetrics;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WireMapping;
import io.pqfl.protocol.TaskKind;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.Trainer;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's life: enroll and say Hello, then per round poll for a task, verify it, train, sign and deliver the
 * update, until the federation finishes, the agent is stopped, or the coordinator keeps sending models that fail
 * verification. The parts it calls each own one step; this class owns the order and the counts.
 */
final class RoundLoop {
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);

    private final ClientAgent.Settings settings;
    private final ClientAgent.Hooks hooks;
    private final Random jitter;
    private final Session session;
    private final ModelCache models;
    private final TaskFetcher fetcher;
    private final TaskVerifier verifier;
    private final LocalTraining training;
    private final Uploader uploader;
    private final Evaluation evaluation;
    private final SecureRound secure;
    private volatile boolean stopping;
    private int trained;
    private int accepted;
    private int rejected;
    private int refused;
    private int trainingFailures;
    private int evaluated;
    /** The round of an evaluation this client did not answer (no held-out data, a failure or a refusal); 0: none. */
    private long declinedEvaluation;
    private int consecutiveFailures;
    private int consecutiveRefusals;

    RoundLoop(Channel channel, ClientAgent.Settings settings, ClientAgent.Hooks hooks, Trainer trainer,
              ClientAgent.Progress progress) {
        this.settings = settings;
        this.hooks = hooks;
        // Not the training seed: every client has the same one by default, and jitter is there to tell them apart.
        this.jitter = new Random();
        var blocking = FederationGrpc.newBlockingStub(channel);
        this.session = new Session(blocking, settings, jitter, this::stopping);
        this.models = hooks.models() != null ? hooks.models() : ModelCache.holding(1);
        this.fetcher = new TaskFetcher(blocking, session, settings, models, this::modelScope);
        this.training = new LocalTraining(settings, trainer, progress);
        this.verifier = new TaskVerifier(settings, hooks.state(), trainer.manifest());
        this.uploader = new Uploader(FederationGrpc.newStub(channel), session, settings, jitter, this::stopping);
        this.evaluation = new Evaluation(blocking, session, settings, trainer);
        this.secure = new SecureRound(blocking, session, settings, this::stopping);
    }

    void stop() {
        stopping = true;
    }

    private boolean stopping() {
        return stopping;
    }

    ClientAgent.Summary run() throws InterruptedException {
        try {
            return loop();
        } catch (Session.NotPinnedCoordinator e) {
            refused++;
            log.error("Stopping: {}", e.getMessage());
            return summary(false);
        }
    }

    /** Enrollment (when asked) and Hello: the session every later call carries. */
    void join() throws InterruptedException {
        session.enrollIfAsked();
        session.hello();
    }

    Session session() {
        return session;
    }

    ModelCache models() {
        return models;
    }

    /** The models this agent may name and use: those verified under its pinned key for the federation it joined. */
    ModelCache.Scope modelScope() {
        return new ModelCache.Scope(settings.coordinatorKey().keyId(), session.federationId());
    }

    ClientAgent.Settings settings() {
        return settings;
    }

    private ClientAgent.Summary loop() throws InterruptedException {
        join();
        // Paces polling after lost connections and refused tasks; a healthy poll starts it again.
        Backoff polls = new Backoff(Backoff.INITIAL, settings.maxBackoff(), jitter);
        while (!stopping) {
            Task task;
            try {
                task = fetcher.fetch();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.OUT_OF_RANGE) {
                    log.info("Federation {} finished; {} rounds trained, {} updates accepted, {} evaluations accepted",
                            session.federationId(), trained, accepted, evaluated);
                    return summary(true);
                }
                if (code == Status.Code.NOT_FOUND) { // the poll waited and no task came: ask again
                    polls.reset();
                    continue;
                }
                if (Failures.sessionEnded(e)) {
                    log.info("Session ended ({}); saying Hello again", e.getStatus().getDescription());
                    session.hello();
                    continue;
                }
                if (Failures.retryable(e)) {
                    Duration wait = polls.next();
                    log.warn("Lost the coordinator ({}); reconnecting in {} ms", code, wait.toMillis());
                    Thread.sleep(wait.toMillis());
                    session.hello();
                    continue;
                }
                throw e;
            }
            if (!handle(task, polls)) {
                return summary(false);
            }
        }
        return summary(false);
    }

    /**
     * One received task, start to end: verified, then evaluated or trained on, signed and delivered. False when the
     * agent must stop (too many refused models, or training failed too often in a row); failures in between are
     * paced by {@code polls}.
     */
    boolean handle(Task received, Backoff polls) throws InterruptedException {
        Task task = received.withOwnModel();
        TaskStatement statement;
        try {
            statement = verifier.check(task, session.federationId());
        } catch (ModelRejectedException e) {
            refused++;
            consecutiveRefusals++;
            log.error("Refusing the task for round {}: {}. Not training on it.", task.round(), e.getMessage());
            if (consecutiveRefusals >= settings.maxConsecutiveRefusals()) {
                log.error("{} models in a row failed verification against the pinned coordinator key {}; stopping",
                        consecutiveRefusals, settings.coordinatorKey().keyId());
                return false;
            }
            Thread.sleep(polls.next().toMillis());
            return true;
        }
        polls.reset();
        consecutiveRefusals = 0;
        if (!task.held()) {
            // Verified: later tasks for this model need not download it.
            models.put(modelScope(), task.digest(), task.signed().statement().modelRound(), task.model());
        }
        if (statement.kind() == TaskKind.EVALUATE) { // the signed kind: never train on an evaluation task
            if (task.round() == declinedEvaluation) {
                // This client could not (or may not) answer this evaluation: the coordinator keeps offering it
                // until its deadline; poll with backoff instead of evaluating again in a tight loop.
                Thread.sleep(polls.next().toMillis());
                return true;
            }
            if (evaluation.answer(task, WireMapping.fromWire(task.header().getConfig())) == Evaluation.Outcome.ACCEPTED) {
                evaluated++;
            } else {
                declinedEvaluation = task.round();
            }
            return true;
        }
        SecureRound.Prepared prepared = null;
        if (task.header().getSecureAggregation()) {
            // Keys and shares before training: the coordinator closes these phases after a short timeout.
            prepared = secure.prepare(task);
            if (prepared == null) {
                hooks.observer().round(new ClientAgent.RoundReport(settings.clientId(), task.round(), 0, 0, 0, 0, 0, 0,
                        false, "SECAGG_EXCLUDED", Double.NaN));
                return true;
            }
        }
        LocalTraining.Outcome outcome;
        try {
            outcome = training.run(task, WireMapping.fromWire(task.header().getConfig()));
        } catch (LocalTraining.Failed e) {
            trainingFailures++;
            consecutiveFailures++;
            log.error("Round {}: training failed, no update sent: {}", task.round(), e.getMessage(), e.getCause());
            hooks.observer().round(new ClientAgent.RoundReport(settings.clientId(), task.round(), 0, 0, 0, 0, 0, 0,
                    false, TRAINING_FAILED, Double.NaN));
            if (consecutiveFailures >= settings.maxConsecutiveRefusals()) {
                log.error("Training failed {} rounds in a row; stopping", consecutiveFailures);
                return false;
            }
            Thread.sleep(polls.next().toMillis());
            return true;
        }
        consecutiveFailures = 0;
        if (prepared != null) {
            submitMasked(task, outcome, prepared);
        } else {
            submit(task, outcome);
        }
        return true;
    }

    /** The reason a {@link ClientAgent.RoundReport} gives for a round whose training failed. */
    static final String TRAINING_FAILED = "TRAINING_FAILED";

    ClientAgent.Summary summary(boolean finished) {
        return new ClientAgent.Summary(trained, accepted, rejected, refused, trainingFailures, finished);
    }

    private void submit(Task task, LocalTraining.Outcome outcome) throws InterruptedException {
        long round = task.round();
        FitResult result = outcome.result();
        trained++;

        ModelWeights update = hooks.transform().apply(round, task.model(), result.weights());
        long digestStart = System.nanoTime();
        PayloadDigest updateDigest = update.digest();
        long digestNanos = System.nanoTime() - digestStart;
        long signStart = System.nanoTime();
        UpdateStatement signed = statement(task, updateDigest, result.examples());
        byte[] signature = switch (settings.signing()) {
            case SIGNED -> Signer.create(settings.key()).sign(signed.encode()).bytes();
            case UNSIGNED_BASELINE -> new byte[0];
        };
        io.pqfl.proto.v1.PartialAggregate partial = hooks.attachment().attach(signed);
        long signNanos = System.nanoTime() - signStart;

        long uploadStart = System.nanoTime();
        Optional<Uploader.Delivery> delivery = uploader.deliver(round, header(task, update, result, outcome.millis()), update, updateDigest, signature,
                partial, task.header().getDeadlineUnixMs());
        if (delivery.isEmpty()) {
            return; // stopped while delivering: no outcome to count or report
        }
        Uploader.Delivery d = delivery.get();
        if (d.accepted()) {
            accepted++;
            log.info("Round {}: update accepted (ledger entry {}), {} examples", round, d.ledgerSeq(), result.examples());
        } else {
            rejected++;
        }
        hooks.observer().round(new ClientAgent.RoundReport(settings.clientId(), round, outcome.millis(), digestNanos,
                signNanos, update.manifest().totalBytes(), signature.length, (System.nanoTime() - uploadStart) / 1_000_000,
                d.accepted(), d.reason(), result.metric(Metrics.EVAL_ACCURACY, Double.NaN)));
    }

    /** Phases 3 and 4 of secure aggregation: the masked input instead of the update. */
    private void submitMasked(Task task, LocalTraining.Outcome outcome, SecureRound.Prepared prepared) throws InterruptedException {
        long round = task.round();
        FitResult result = outcome.result();
        trained++;
        ModelWeights update = hooks.transform().apply(round, task.model(), result.weights());
        long start = System.nanoTime();
        SecureRound.Outcome o = secure.deliver(task, prepared, update, result.examples());
        if (o.accepted()) {
            accepted++;
            log.info("Round {}: masked input accepted (ledger entry {}), {} examples", round, o.ledgerSeq(), result.examples());
        } else {
            rejected++;
        }
        // signNanos: for a masked input, the client's whole secure-aggregation computation (keys, shares, masking,
        // reveal, and their signatures), without the waits for other clients.
        hooks.observer().round(new ClientAgent.RoundReport(settings.clientId(), round, outcome.millis(), 0, o.computeNanos(),
                o.bytesSent(), 0, (System.nanoTime() - start) / 1_000_000, o.accepted(), o.reason(),
                result.metric(Metrics.EVAL_ACCURACY, Double.NaN)));
    }

    /**
     * The update's local metrics: every metric the trainer reported, and the well-known ones in their fixed fields
     * (0 where the trainer did not report them). Not signed: they are the client's say-so.
     */
    static LocalMetrics localMetrics(FitResult result, long trainMillis) {
        return LocalMetrics.newBuilder().setTrainLoss(result.metric(Metrics.LOSS, 0))
                .setEvalLoss(result.metric(Metrics.EVAL_LOSS, 0)).setEvalAccuracy(result.metric(Metrics.EVAL_ACCURACY, 0))
                .setEvalExamples((long) result.metric(Metrics.EVAL_EXAMPLES, 0)).setTrainMillis(trainMillis)
                .putAllMetrics(result.metrics()).build();
    }

    /** What the client signs: the round it answers, the model it started from, and the update it sends. */
    private UpdateStatement statement(Task task, PayloadDigest updateDigest, long examples) {
        return new UpdateStatement(session.federationId(), task.round(),
                RoundNonce.of(task.header().getNonce().toByteArray()), task.digest(), settings.clientId(),
                settings.key().keyId(), settings.key().scheme(), updateDigest, examples);
    }

    private UpdateHeader header(Task task, ModelWeights update, FitResult result, long trainMillis) {
        TaskHeader t = task.header();
        UpdateHeader.Builder h = UpdateHeader.newBuilder().setFederationId(session.federationId()).setRound(t.getRound())
                .setNonce(t.getNonce()).setClientId(settings.clientId().value())
                .setBaseModelDigest(WireMapping.bytes(task.digest())).setManifest(WireMapping.toWire(update.manifest()))
                .setNumExamples(result.examples()).setUpdateBytes(update.manifest().totalBytes())
                .setMetrics(localMetrics(result, trainMillis));
        // An unsigned update announces no key or scheme: it is signed with none. The coordinator knows whose key
        // it is from the session, whose Hello proved it.
        switch (settings.signing()) {
            case SIGNED -> h.setKeyId(settings.key().keyId().hex()).setScheme(settings.key().scheme().displayName());
            case UNSIGNED_BASELINE -> { }
        }
        return h.build();
    }
}
