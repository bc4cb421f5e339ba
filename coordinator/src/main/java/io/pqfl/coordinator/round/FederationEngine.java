package io.pqfl.coordinator.round;

import io.micrometer.core.instrument.Gauge;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.coordinator.verify.ReceiptVerifier;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.crypto.TrustStore;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Signer;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.ReportedMetrics;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateHeader;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner of the round state machine ({@link RoundMachine}): it feeds the machine its events (under one lock,
 * with the injected clock's time) and carries out the effects through its adapters: opening and closing training
 * rounds ({@link TrainingDriver}, with {@link RoundCloser} on a worker thread), opening and closing evaluations
 * ({@link EvaluationDriver}), answering waiting task requests ({@link TaskWaits}), ending superseded uploads, and
 * waking the machine at its deadlines ({@link WakeUps}). Updates stream in through {@link Upload}s, verified outside
 * the lock and recorded ({@link UpdateRecorder}) only when the machine still wants them.
 *
 * <p>Durability: an accepted update is spooled and ledgered before it is folded into the aggregate; a round's
 * close (checkpoint, ledger entry, round row) is ordered so that a coordinator restarted on the same data
 * directory resumes the open round with its nonce, reloads and re-verifies its accepted updates
 * ({@link Recovery}), and never aggregates an update twice.
 */
public final class FederationEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FederationEngine.class);

    private final CoordinatorConfig config;
    private final Ledger ledger;
    private final UploadBudget budget;
    private final Uploads uploads;
    private final io.pqfl.coordinator.aggregate.SecureAggregation secure;
    private final MaskedInputs maskedInputs;
    private final UpdateVerifier verifier;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final Predicate<ClientId> eligible;
    private final RoundMachine machine;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final TaskWaits waits;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "pqfl-rounds"));
    private final WakeUps wakeUps;
    private final ExecutorService closing = Executors.newSingleThreadExecutor(r -> daemon(r, "pqfl-round-close"));
    private List<Effect> restored;
    private final TrainingDriver training;
    private final EvaluationDriver evaluation;
    private boolean finished;
    private volatile boolean stopping;
    private volatile Throwable failure;
    private volatile UpdateListener listener = UpdateListener.NONE;
    private final io.pqfl.coordinator.aggregate.CentralDp privacy; // null without differential privacy

    public FederationEngine(CoordinatorConfig config, Signer signer, RunStore runs, Ledger ledger, UpdateVerifier verifier,
                            Predicate<ClientId> eligible, CoordinatorMetrics metrics, Clock clock, SecureRandom random)
            throws SQLException, IOException {
        this.config = Objects.requireNonNull(config, "config");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        Objects.requireNonNull(signer, "signer");
        Objects.requireNonNull(runs, "runs");
        Objects.requireNonNull(verifier, "verifier");
        this.eligible = Objects.requireNonNull(eligible, "eligible");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.wakeUps = new WakeUps(clock, timer);
        Strategy plain = Strategies.create(config.strategy(), config.strategyParams());
        plain.checkClients(config.minUpdates());
        Strategy strategy = plain;
        io.pqfl.coordinator.aggregate.CentralDp privacy = null;
        if (config.dp() != null && config.secureAggregation() == null) {
            io.pqfl.coordinator.aggregate.CentralDp dp = new io.pqfl.coordinator.aggregate.CentralDp(plain, config.dp(), random);
            Gauge.builder("pqfl.dp.epsilon", dp, io.pqfl.coordinator.aggregate.CentralDp::totalEpsilon)
                    .description("Differential privacy: epsilon spent so far, at the configured delta (docs/PRIVACY.md)")
                    .register(metrics.registry());
            Gauge.builder("pqfl.dp.round.epsilon", dp, d -> d.lastSpent() == null ? 0 : d.lastSpent().roundEpsilon())
                    .description("Differential privacy: epsilon of the newest noised round alone").register(metrics.registry());
            Gauge.builder("pqfl.dp.clip", dp, io.pqfl.coordinator.aggregate.CentralDp::clipNorm)
                    .description("Differential privacy: the L2 norm the next round's updates are clipped to (it moves"
                            + " with adaptive clipping)").register(metrics.registry());
            log.info("Central differential privacy on: {}", config.dp());
            resumePrivacy(dp, ledger);
            strategy = dp;
            privacy = dp;
        }
        if (config.secureAggregation() != null) {
            this.secure = new io.pqfl.coordinator.aggregate.SecureAggregation(plain, config.secureAggregation(), config.dp());
            log.info("Secure aggregation on: {}{}", config.secureAggregation(), config.dp() == null ? ""
                    : "; distributed differential privacy: " + config.dp());
            if (config.dp() != null) {
                Gauge.builder("pqfl.dp.epsilon", secure, io.pqfl.coordinator.aggregate.SecureAggregation::totalEpsilon)
                        .description("Differential privacy: epsilon spent so far, at the configured delta (docs/PRIVACY.md)")
                        .register(metrics.registry());
                Gauge.builder("pqfl.dp.round.epsilon", secure, io.pqfl.coordinator.aggregate.SecureAggregation::roundEpsilon)
                        .description("Differential privacy: epsilon of the newest noised round alone").register(metrics.registry());
            }
            strategy = secure;
        } else {
            this.secure = null;
        }
        this.privacy = privacy;
        Strategy chosen = strategy;
        Checkpoints checkpoints = new Checkpoints(config.federationId(), signer, config.dataDirectory());
        UpdateRecorder recorder = new UpdateRecorder(ledger, checkpoints, metrics);
        Recovery.Recovered r = new Recovery(config, signer.verifyingKey(), runs, ledger, checkpoints, strategy, verifier)
                .recover(config.describe(strategy.name()));
        if (secure != null) {
            io.pqfl.coordinator.aggregate.SecureAggregation.requireFits(r.global().weights().manifest().totalBytes() / 4);
        }
        this.training = new TrainingDriver(this, config, strategy, signer, runs, checkpoints, metrics, clock,
                () -> listener, r.global());
        long modelBytes = r.global().weights().manifest().totalBytes();
        this.budget = UploadBudget.forModel(config.maxConcurrentUploads(), config.uploadMemoryBytes(), modelBytes,
                Runtime.getRuntime().maxMemory(), strategy.holdsEveryUpdate() ? config.minUpdates() : 0, strategy.name());
        log.info("Upload budget: {}", budget.describe());
        // A strategy that holds every update samples no more clients than the budget can take updates of: the others
        // would only be told BUSY until the deadline (and keep the round open until then).
        int heldCap = strategy.holdsEveryUpdate() ? budget.updatesFitting(modelBytes) : Integer.MAX_VALUE;
        if (heldCap != Integer.MAX_VALUE) {
            boolean bites = config.clientsPerRound() == 0 || config.clientsPerRound() > heldCap;
            String line = strategy.name() + " keeps every update of a round until it closes: a round samples at most "
                    + heldCap + " clients (what the upload memory budget takes)";
            if (bites) {
                log.warn("{}; raise -Xmx (PQFL_JAVA_OPTS for ./pqfl) to sample more", line);
            } else {
                log.info(line);
            }
        }
        this.waits = new TaskWaits(this, clock, timer);
        this.uploads = new Uploads(this, verifier, budget, recorder, metrics, clock, timer, () -> listener,
                new ReceiptVerifier(receiptKeys(config)));
        // Evaluators are drawn with the plain strategy: choosing who evaluates releases nothing to account, and the DP
        // wrapper's sample() would record the evaluators' share as a training round's sampling rate.
        this.evaluation = new EvaluationDriver(this, config, strategy, plain, signer, runs, ledger, verifier, metrics,
                clock);
        this.verifier = verifier;
        this.maskedInputs = new MaskedInputs(this, ledger, metrics, clock);
        Random sampling = new Random(config.seed());
        this.machine = new RoundMachine(new RoundMachine.Settings(config.rounds(), config.minClients(), config.minUpdates(),
                config.roundTimeout(), config.clientLiveness(), config.closeOnRejection(), MAX_REJECTIONS_PER_ROUND),
                config.evaluationSettings(),
                (round, candidates) -> chosen.sample(round, candidates,
                        Math.min(config.sampleSize(candidates.size()), heldCap), sampling),
                evaluation.evaluators(), eligible, () -> RoundNonce.random(random));
        if (config.holdRounds()) {
            machine.holdRounds();
        }
        if (!config.roster().isEmpty()) {
            machine.sampleFrom(config.roster());
        }
        evaluation.abandonUnfinished();
        Instant now = clock.instant();
        RoundPlan resumed = null;
        if (r.openRound() != null) {
            RoundRecord rec = r.openRound();
            resumed = new RoundPlan(rec.round(), rec.nonce(), rec.sampled(), now.plus(config.roundTimeout()));
            training.resume(resumed, r.accepted());
            countAgain(rec.round());
            log.info("Round {} resumed with its original nonce; {} of {} updates already accepted", rec.round(),
                    r.accepted().size(), rec.sampled().size());
        }
        this.restored = machine.restore(r.lastClosed(), resumed,
                Set.copyOf(r.accepted().stream().map(VerifiedUpdate::clientId).toList()), now);
        Gauge.builder("pqfl.task.waits", this, FederationEngine::pendingTaskWaits)
                .description("GetTask calls waiting for a task (they hold no thread)").register(metrics.registry());
        Gauge.builder("pqfl.uploads.in.progress", budget, UploadBudget::uploads)
                .description("Uploads holding a slot now").register(metrics.registry());
    }

    /** A restarted coordinator's accountant and clip norm continue from the spending its ledger holds. */
    private static void resumePrivacy(io.pqfl.coordinator.aggregate.CentralDp dp, Ledger ledger) throws SQLException {
        List<io.pqfl.coordinator.privacy.PrivacySpent> spent = new java.util.ArrayList<>();
        for (io.pqfl.coordinator.store.LedgerEntry e : ledger.entriesOfKind(io.pqfl.coordinator.store.LedgerEntry.Kind.PRIVACY_SPENT)) {
            try {
                spent.add(io.pqfl.coordinator.privacy.PrivacySpent.parse(e.round(), e.detail()));
            } catch (IllegalArgumentException ex) {
                throw new IllegalStateException("cannot resume the differential privacy accounting: ledger entry " + e.seq()
                        + " is not a round's spending (" + ex.getMessage() + "); check the ledger with pqfl ledger verify", ex);
            }
        }
        dp.resume(spent);
    }

    /**
     * Refusals of one client ledgered per round; beyond it the client's uploads are refused up front
     * (REJECTION_LIMIT, not ledgered), so one enrolled client cannot fill the ledger at its call rate.
     */
    static final int MAX_REJECTIONS_PER_ROUND = 16;

    /**
     * A resumed round counts again the clients the receipts of its accepted partial aggregates named (the senders of
     * its accepted updates are counted by {@link TrainingDriver#resume}).
     */
    private void countAgain(long round) throws SQLException {
        RoundWork w = training.work();
        for (io.pqfl.coordinator.store.LedgerEntry e : ledger.entriesOfRound(round)) {
            if (w != null && e.kind() == io.pqfl.coordinator.store.LedgerEntry.Kind.PARTIAL_AGGREGATE) {
                io.pqfl.protocol.PartialAggregateStatement.decode(e.statement()).partial().receipt()
                        .forEach(x -> w.counted.add(x.clientId()));
            }
        }
    }

    /** The keys of the aggregators' clients, when the operator gave their trust directory (read once, at start). */
    private static io.pqfl.coordinator.verify.EnrolledKeys receiptKeys(CoordinatorConfig config) throws IOException {
        if (config.receiptTrustDir() == null) {
            return null;
        }
        try {
            return TrustStore.open(config.receiptTrustDir())::find;
        } catch (io.pqfl.crypto.TrustStoreException e) {
            throw new IOException("cannot read the receipt trust directory " + config.receiptTrustDir() + ": "
                    + e.getMessage(), e);
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Adds an observer of updates and rounds; every observer added is told, in the order they were added. */
    public synchronized void addListener(UpdateListener listener) {
        this.listener = UpdateListener.both(this.listener, Objects.requireNonNull(listener, "listener"));
    }

    // ---------------------------------------------------------------- driving the machine

    /** Starts the rounds: the effects of the restart are carried out, then events drive everything. */
    public void start() {
        carryOut(locked(() -> {
            List<Effect> effects = restored;
            restored = List.of();
            persistOpened(effects); // a roster's first round opens at once (sampleFrom)
            return effects;
        }));
    }

    /** Feeds the machine one event under the lock, does the effects that must happen under it, then the rest. */
    List<Effect> feed(Function<RoundMachine, List<Effect>> event) {
        List<Effect> effects;
        lock.lock();
        try {
            effects = event.apply(machine);
            persistOpened(effects);
        } finally {
            lock.unlock();
        }
        carryOut(effects);
        return effects;
    }

    /** A new round is persisted before anyone can act on it: under the lock. */
    private void persistOpened(List<Effect> effects) {
        for (Effect e : effects) {
            try {
                if (e instanceof Effect.OpenRound open) {
                    training.opened(open);
                } else if (e instanceof Effect.OpenEvaluation open) {
                    evaluation.opened(open, training.global());
                }
            } catch (SQLException | IOException ex) {
                fail(ex);
                return;
            }
        }
    }

    /** The effects that need no lock: answers, superseded streams, wake-ups, closing, finishing. */
    void carryOut(List<Effect> effects) {
        for (Effect e : effects) {
            // Java 17 has no pattern switch: the effects are a sealed set, handled in turn.
            if (e instanceof Effect.OpenRound open) {
                signal();
                tell(() -> listener.sampled(open.plan().round(), false, open.plan().sampled()));
            } else if (e instanceof Effect.Answer a) {
                waits.answer(a.waitId(), a.answer());
            } else if (e instanceof Effect.Supersede s) {
                Upload older = uploads.get(s.uploadId());
                if (older != null) {
                    older.cancelStream.run();
                }
            } else if (e instanceof Effect.WakeAt w) {
                wakeUps.at(w.at(), () -> feed(m -> m.tick(clock.instant())));
            } else if (e instanceof Effect.CloseRound c) {
                closing.execute(() -> training.close(c, evaluation));
            } else if (e instanceof Effect.OpenEvaluation open) {
                signal();
                tell(() -> listener.sampled(open.plan().round(), true, open.plan().sampled()));
            } else if (e instanceof Effect.CloseEvaluation c) {
                closing.execute(() -> evaluation.close(c));
            } else if (e instanceof Effect.Finished f) {
                lock.lock();
                try {
                    finished = true;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
                log.info("Federation {} finished: {} rounds", config.federationId(), f.rounds());
                tell(() -> listener.finished(f.rounds()));
            }
        }
    }

    /** Tells the listeners something; one that throws is logged and does not stop the effects after it. */
    private static void tell(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.warn("An update listener failed: {}", e.toString());
        }
    }

    void fail(Throwable t) {
        log.error("Round loop failed", t);
        lock.lock();
        try {
            failure = t;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void signal() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- events from clients

    /** An authenticated client showed itself. */
    public void clientSeen(ClientId client) {
        feed(m -> m.clientSeen(client, clock.instant()));
    }

    /** Something outside the machine changed (the trust directory): re-evaluate now. */
    public void poke() {
        feed(m -> m.tick(clock.instant()));
    }

    /**
     * Waits up to {@code wait} for {@code client}'s task without holding a thread: {@code callback} receives the
     * outcome once, on the engine's timer thread, never under the engine's lock.
     */
    public TaskWaits.TaskWait awaitTaskAsync(ClientId client, Duration wait, Consumer<TaskOutcome> callback) {
        return waits.await(client, wait, callback);
    }

    /** Task requests waiting for an answer now. */
    public int pendingTaskWaits() {
        return waits.pending();
    }

    // ---------------------------------------------------------------- uploads

    /** The upload memory budget (set up before any round opens). */
    UploadBudget uploadBudget() {
        return budget;
    }

    /**
     * Starts an upload for an authenticated session ({@link Uploads#begin}): the caller streams the tensor
     * chunks into the returned upload and ends it with {@link Upload#finish} or {@link Upload#abort}.
     */
    public Upload beginUpload(UpdateHeader header, Sessions.Session session, Runnable cancelStream)
            throws RefusedException {
        return uploads.begin(header, session, cancelStream);
    }

    /**
     * {@link #beginUpload(UpdateHeader, Sessions.Session, Runnable)} with the update's advisory metrics (validated;
     * null for none): averaged into the round's client-reported metrics if the update is accepted.
     */
    public Upload beginUpload(UpdateHeader header, Sessions.Session session, Runnable cancelStream,
                              ReportedMetrics reported) throws RefusedException {
        Upload u = uploads.begin(header, session, cancelStream);
        u.reported = reported;
        return u;
    }

    /** Records a rejection of an authenticated client's stream whose header could not be decoded. */
    public void recordMalformed(ClientId client, long round, RejectReason reason, String detail) {
        uploads.malformed(client, round, reason, detail);
    }

    // ---------------------------------------------------------------- evaluations

    /**
     * A client's evaluation report, from an authenticated session: accepted (its ledger sequence number) or refused
     * with its reason; nothing of a refused report reaches the aggregate.
     */
    public long submitEvaluation(EvaluationReport report, Sessions.Session session) throws RefusedException {
        return evaluation.submit(report, session);
    }

    /** The open round (its number, nonce, sampled clients and deadline), if one is open. */
    public java.util.Optional<RoundPlan> openRoundPlan() {
        return locked(machine::openRound);
    }

    /** The open evaluation (the round whose model is evaluated, its nonce and evaluators), if evaluators are sampled. */
    public java.util.Optional<RoundPlan> openEvaluation() {
        return locked(machine::openEvaluation);
    }

    /** The newest aggregate of each source, for status calls. */
    public java.util.Optional<EvaluationSummary> lastEvaluation(EvaluationSummary.Source source) {
        return evaluation.last(source);
    }

    /** The evaluation adapter (the open evaluation's working parts, the last aggregates). */
    /** Whether rounds run secure aggregation. */
    public boolean secureAggregation() {
        return secure != null;
    }

    /**
     * The protocol state of round {@code round}'s secure aggregation.
     *
     * @throws RefusedException SECAGG_PHASE when the coordinator runs none, or the round is not open
     */
    public io.pqfl.coordinator.secagg.SecAggRound secureRound(long round) throws RefusedException {
        if (secure == null) {
            throw new RefusedException(RejectReason.SECAGG_PHASE, "this coordinator does not run secure aggregation");
        }
        return secure.round(round).orElseThrow(() -> new RefusedException(RejectReason.SECAGG_PHASE, "round " + round
                + " has no secure aggregation in progress (the open round is " + currentRound() + ")"));
    }

    /** A client's masked input for the open round (secure aggregation's phase 3); returns its ledger sequence number. */
    public long submitMaskedInput(io.pqfl.proto.v1.SecAggMaskedInput msg, Sessions.Session session) throws RefusedException {
        return maskedInputs.submit(secureRound(msg.getRound()), msg, session);
    }

    /** A client's enrolled verifying key. */
    io.pqfl.crypto.VerifyingKey enrolledKey(ClientId client) throws RefusedException {
        return verifier.enrolledKey(client);
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    EvaluationDriver evaluation() {
        return evaluation;
    }

    /** The training-round adapter (the global model, the open round's working parts). */
    TrainingDriver training() {
        return training;
    }

    RoundMachine machine() {
        return machine;
    }

    ReentrantLock lock() {
        return lock;
    }

    // ---------------------------------------------------------------- an aggregator's rounds

    /** A closed round of an aggregator's coordinator: the model it published, or null when it was skipped. */
    public record ClosedRound(long round, ModelWeights weights, SignedModel signed) {
        public boolean published() {
            return signed != null;
        }
    }

    /**
     * An aggregator's coordinator ({@link CoordinatorConfig#holdRounds()}), between rounds: {@code parentModel} becomes
     * the global model (signed with this coordinator's key, ledgered MODEL_ADOPTED) and the next round is released;
     * it opens once enough clients are live. Returns that round's number.
     *
     * @throws IllegalStateException when rounds are not held, or a round is open or being closed
     */
    public long release(ModelWeights parentModel) throws SQLException, IOException {
        Objects.requireNonNull(parentModel, "parentModel");
        if (!config.holdRounds()) {
            throw new IllegalStateException("this coordinator's rounds are not held for a parent");
        }
        List<Effect> effects;
        long round;
        lock.lock();
        try {
            if (machine.stage() != Stage.WAITING_FOR_CLIENTS || machine.nextRoundReleased()) {
                throw new IllegalStateException("round " + (machine.lastClosed() + 1) + " cannot be released: the rounds are "
                        + machine.stage() + (machine.nextRoundReleased() ? ", the round already released" : ""));
            }
            round = machine.lastClosed() + 1;
            training.adopt(parentModel, machine.lastClosed(), ledger);
            effects = machine.release(round, clock.instant());
            persistOpened(effects);
        } finally {
            lock.unlock();
        }
        carryOut(effects);
        return round;
    }

    /**
     * Waits until round {@code round} closed: its published model, or a {@link ClosedRound} without one when it was
     * skipped; empty when {@code timeout} passed first or the engine stopped.
     */
    public java.util.Optional<ClosedRound> awaitClosed(long round, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (machine.lastClosed() < round) {
                long left = end - System.nanoTime();
                if (left <= 0 || stopping || failure != null) {
                    return java.util.Optional.empty();
                }
                changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
            }
            GlobalModel g = training.global();
            boolean published = g.round() == round
                    && g.signed().statement().receipt().size() > 0;
            return java.util.Optional.of(published ? new ClosedRound(round, g.weights(), g.signed())
                    : new ClosedRound(round, null, null));
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- lifecycle and status

    /** Why the rounds stopped for good (a store or ledger failure), if they did. */
    public java.util.Optional<Throwable> failure() {
        return java.util.Optional.ofNullable(failure);
    }

    /** Waits until the last round closed (true) or the timeout passed (false); rethrows a failure of the rounds. */
    public boolean awaitFinished(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!finished && failure == null && !stopping) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
        if (failure != null) {
            throw new IllegalStateException("round loop failed: " + failure.getMessage(), failure);
        }
        return finished;
    }

    /** The round now open or last opened, without the live-client count {@link #status} works out. */
    public long currentRound() {
        return locked(machine::currentRound);
    }

    /** The federation's stage, without the live-client count {@link #status} works out. */
    public Stage stage() {
        return locked(machine::stage);
    }

    public FederationStatus status() {
        int live = liveEnrolled();
        return locked(() -> {
            GlobalModel global = training.global();
            return new FederationStatus(config.federationId(), machine.stage(), machine.currentRound(), machine.lastClosed(),
                    config.rounds(), live, global.signed().statement().modelDigest(), global.round());
        });
    }

    /** When {@link #liveEnrolled} last counted (System.nanoTime), and what it found; guarded by liveCountLock. */
    private final Object liveCountLock = new Object();
    private long liveCountedAt;
    private int liveCount = -1;

    /**
     * Live clients that are still enrolled, for status calls (which anyone may make): counted at most once a second,
     * and outside the engine's lock, since each client is looked up in the trust directory and its certificate
     * re-checked against the CRL. A count up to a second old is good enough for a status line.
     */
    private int liveEnrolled() {
        synchronized (liveCountLock) {
            long now = System.nanoTime();
            if (liveCount < 0 || now - liveCountedAt >= 1_000_000_000L) {
                List<ClientId> live = locked(() -> machine.live(clock.instant()));
                liveCount = (int) live.stream().filter(eligible).count();
                liveCountedAt = now;
            }
            return liveCount;
        }
    }

    /** The central differential privacy wrapper (its spending, clip norm, pending rates); empty without DP. */
    public java.util.Optional<io.pqfl.coordinator.aggregate.CentralDp> differentialPrivacy() {
        return java.util.Optional.ofNullable(privacy);
    }

    /** The newest noised round's spending, central or distributed DP's; empty without DP or before the first. */
    public java.util.Optional<io.pqfl.coordinator.privacy.PrivacySpent> lastPrivacySpent() {
        if (privacy != null) {
            return java.util.Optional.ofNullable(privacy.lastSpent());
        }
        return secure == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(secure.lastSpent());
    }

    /** The current global model and its signature. */
    public SignedModel globalModel() {
        return locked(() -> training.global().signed());
    }

    public ModelWeights globalWeights() {
        return locked(() -> training.global().weights());
    }

    <T> T locked(Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        wakeUps.stop();
        List<Effect> effects;
        lock.lock();
        try {
            effects = machine.stop(clock.instant());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        carryOut(effects);
        closing.shutdown();
        closing.awaitTermination(10, TimeUnit.SECONDS);
        timer.shutdownNow(); // pending wake-ups are moot once stopped
        timer.awaitTermination(5, TimeUnit.SECONDS);
    }
}
