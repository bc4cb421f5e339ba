package io.pqfl.coordinator.round;

import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.Gauge;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.aggregate.AggregationException;
import io.pqfl.coordinator.aggregate.RoundAggregator;
import io.pqfl.coordinator.aggregate.Strategies;
import io.pqfl.coordinator.aggregate.Strategy;
import io.pqfl.coordinator.identity.Authenticator;
import io.pqfl.coordinator.identity.Challenges;
import io.pqfl.coordinator.identity.ClientDirectory;
import io.pqfl.coordinator.identity.Enrollment;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.identity.TrustDirectoryWatcher;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.EnrollmentTokens;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.OwnerOnly;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.verify.RoundContext;
import io.pqfl.coordinator.verify.UpdateRejectedException;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.PkiException;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The round loop and the state of one federation, independent of the transport. The gRPC service calls
 * {@link #hello}, {@link #awaitTask}, {@link #beginUpload} and {@link Upload#finish}; the loop thread opens
 * rounds, waits for updates or the deadline, aggregates, signs and publishes each new global model.
 *
 * <p>Durability: every accepted update is written to the round's spool directory and to the ledger before
 * it is folded into the aggregate; a round's close (checkpoint file, ledger entry, round row) is ordered so
 * that a coordinator restarted on the same data directory resumes the open round with the same nonce,
 * reloads and re-verifies its accepted updates, and never aggregates an update twice.
 */
public final class FederationEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FederationEngine.class);

    /** What {@link #awaitTask} found. */
    public sealed interface TaskOutcome permits TaskReady, NoTask, Finished {
    }

    public record TaskReady(Task task) implements TaskOutcome {
    }

    public record NoTask(String why) implements TaskOutcome {
    }

    public record Finished() implements TaskOutcome {
    }

    /** A snapshot for status calls. */
    public record Status(String federationId, FederationState state, long currentRound, long closedRounds, long totalRounds,
                         int connectedClients, PayloadDigest modelDigest, long modelRound) {
    }

    private final CoordinatorConfig config;
    private final SigningKey coordinatorKey;
    private final Signer signer;
    private final TrustStore trust;
    /** Keys already in the database's public_keys table (recording one is a commit: once per key, not per update). */
    private final Set<KeyId> rememberedKeys = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicLong uploadIds = new java.util.concurrent.atomic.AtomicLong();
    private final ClientDirectory directory;
    private final Enrollment enrollment;
    private final EnrollmentTokens tokens;
    private final UpdateVerifier verifier;
    private final Strategy strategy;
    private final Database db;
    private final Ledger ledger;
    private final RunStore runs;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final SecureRandom secureRandom;
    private final Random sampler;
    private final ClientRegistry registry;
    private final Sessions sessions;
    private final Authenticator authenticator;
    private final UploadBudget budget;
    private final TrustDirectoryWatcher trustWatcher;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private FederationState state = FederationState.STARTING;
    private ModelWeights global;
    private SignedModel globalSigned;
    private List<ByteString> globalChunks;
    private long lastClosed;
    private OpenRound open;
    private volatile boolean stopping;
    private volatile Throwable failure;
    private volatile UpdateListener listener = UpdateListener.NONE;

    /** Observes every update's outcome (the simulation harness measures with it). */
    public interface UpdateListener {
        UpdateListener NONE = new UpdateListener() {
        };

        default void accepted(ClientId client, long round, long verifyNanos, long bytes) {
        }

        default void rejected(String client, long round, RejectReason reason) {
        }

        default void roundClosed(long round, boolean completed, Duration wallTime, int accepted, int rejected) {
        }
    }

    public void setListener(UpdateListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
    }
    private Thread loop;

    private static final class OpenRound {
        RoundRecord record;
        RoundContext context;
        RoundAggregator aggregator;
        Task task;
        long deadlineMs;
        Instant openedAt;
        boolean closing;
        final Set<ClientId> accepted = new HashSet<>();
        /** The upload in progress per client: at most one; a newer one from the same session supersedes it. */
        final Map<ClientId, Upload> inFlight = new HashMap<>();
        final Set<ClientId> failed = new HashSet<>();
        final List<ReceiptEntry> receipt = new ArrayList<>();
        final Map<ClientId, Integer> rejectionsByClient = new HashMap<>();
        int rejected;

        int rejectionsOf(ClientId client) {
            return rejectionsByClient.getOrDefault(client, 0);
        }

        int countRejection(ClientId client) {
            return rejectionsByClient.merge(client, 1, Integer::sum);
        }

        boolean allAccepted() {
            return accepted.size() == record.sampled().size();
        }

        boolean settled(boolean countRejections) {
            if (!countRejections) {
                return allAccepted();
            }
            int done = accepted.size();
            for (ClientId c : failed) {
                if (!accepted.contains(c)) {
                    done++;
                }
            }
            return done >= record.sampled().size();
        }
    }

    public FederationEngine(CoordinatorConfig config, SigningKey coordinatorKey, TrustStore trust, CoordinatorMetrics metrics,
                            Clock clock, SecureRandom secureRandom) throws SQLException, IOException {
        this.config = Objects.requireNonNull(config, "config");
        this.coordinatorKey = Objects.requireNonNull(coordinatorKey, "coordinatorKey");
        this.signer = Signer.create(coordinatorKey);
        this.trust = Objects.requireNonNull(trust, "trust");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.secureRandom = Objects.requireNonNull(secureRandom, "secureRandom");
        this.sampler = new Random(config.seed());
        this.directory = ClientDirectory.open(trust, certificateChecker(config, clock),
                config.dataDirectory().certified(), clock);
        this.verifier = new UpdateVerifier(directory, config.acceptedSchemes(), config.maxUpdateBytes(),
                config.maxExamplesPerUpdate(), config.requireSignatures());
        if (!config.requireSignatures()) {
            log.warn("Signatures are NOT checked in federation {}: research baseline only", config.federationId());
        }
        this.strategy = Strategies.create(config.strategy(), config.strategyParams());
        strategy.checkClients(config.minUpdates());
        this.registry = new ClientRegistry(clock, config.clientLiveness());
        OwnerOnly.createDirectories(config.dataDir());
        if (!OwnerOnly.isOwnerOnly(config.dataDir())) {
            log.warn("{} is readable by others than its owner: it holds the ledger, models and tokens; chmod 700 it",
                    config.dataDir());
        }
        this.db = Database.open(config.effectiveJdbcUrl());
        this.ledger = new Ledger(db, clock);
        this.runs = new RunStore(db, ledger, clock);
        this.tokens = new EnrollmentTokens(db, clock, secureRandom, coordinatorKey.verifyingKey());
        Gauge.builder("pqfl.task.waits", this, FederationEngine::pendingTaskWaits)
                .description("GetTask calls waiting for a task (they hold no thread)").register(metrics.registry());
        Challenges challenges = new Challenges(secureRandom, clock);
        this.enrollment = new Enrollment(config.federationId(), directory, tokens, config.acceptedSchemes(), challenges);
        this.sessions = new Sessions(secureRandom, clock, config.sessionTtl());
        this.authenticator = new Authenticator(config.federationId(), coordinatorKey.keyId(), directory, verifier, challenges,
                sessions);
        Gauge.builder("pqfl.sessions", sessions, Sessions::size).description("Live client sessions").register(metrics.registry());
        // A revoked client's next call is refused (REVOKED_KEY) by the session check; the round loop re-samples.
        this.trustWatcher = new TrustDirectoryWatcher(trust, () -> {
            lock.lock();
            try {
                signalChange();
            } finally {
                lock.unlock();
            }
        });
        recover();
        this.budget = UploadBudget.forModel(config.maxConcurrentUploads(), config.uploadMemoryBytes(),
                global.manifest().totalBytes(), Runtime.getRuntime().maxMemory());
        log.info("Upload budget: {}", budget.describe());
        Gauge.builder("pqfl.uploads.in.progress", budget, UploadBudget::uploads)
                .description("Uploads holding a slot now").register(metrics.registry());
    }

    // ---------------------------------------------------------------- start-up and recovery

    private Path checkpoint(long round) {
        return config.dataDirectory().checkpoint(round);
    }

    private Path strategyState(long round) {
        return config.dataDirectory().strategyState(round);
    }

    private Path spoolDir(long round) {
        return config.dataDirectory().spool(round);
    }

    private void recover() throws SQLException, IOException {
        Optional<RunStore.RunRecord> run = runs.run();
        if (run.isEmpty()) {
            ModelWeights initial = config.initialModel() != null
                    ? ModelFiles.read(config.initialModel()).weights() : config.initialWeights();
            SignedModel signed = runs.createRun(config.federationId(), coordinatorKey.verifyingKey(), config.rounds(),
                    describeConfig(), head -> signAndCheckpoint(0, initial, null, List.of(), null, head));
            setGlobal(initial, signed);
            log.info("Federation {} created: model {} ({} parameters), digest {}", config.federationId(),
                    initial.manifest().architecture(), initial.manifest().totalElements(), signed.statement().modelDigest());
        } else {
            RunStore.RunRecord r = run.get();
            if (!r.federationId().equals(config.federationId())) {
                throw new IllegalStateException(config.dataDir() + " holds federation '" + r.federationId()
                        + "', not '" + config.federationId() + "'");
            }
            if (!r.coordinatorKeyId().equals(coordinatorKey.keyId().hex())) {
                throw new IllegalStateException(config.dataDir() + " was created with coordinator key " + r.coordinatorKeyId()
                        + "; this coordinator's key is " + coordinatorKey.keyId());
            }
            long latest = runs.rounds().stream().filter(x -> x.state() == RoundRecord.State.COMPLETED)
                    .mapToLong(RoundRecord::round).max().orElse(0);
            ModelFiles.Stored stored = ModelFiles.read(checkpoint(latest));
            try {
                stored.signature().verify(coordinatorKey.verifyingKey(), config.federationId(), stored.weights().digest());
            } catch (ModelRejectedException | NullPointerException e) {
                throw new IOException(checkpoint(latest) + ": checkpoint does not verify: " + e.getMessage(), e);
            }
            restoreStrategyState(latest, stored.signature().statement().strategyStateDigest());
            setGlobal(stored.weights(), stored.signature());
            lastClosed = runs.lastClosedRound();
            log.info("Federation {} resumed: {} rounds closed, global model from round {}", config.federationId(),
                    lastClosed, latest);
            Optional<RoundRecord> openRecord = runs.openRound();
            if (openRecord.isPresent()) {
                resume(openRecord.get());
            }
        }
    }

    private void resume(RoundRecord record) throws SQLException, IOException {
        if (!record.baseModelDigest().matches(globalSigned.statement().modelDigest())) {
            throw new IllegalStateException("open round " + record.round() + " was based on model " + record.baseModelDigest()
                    + " but the latest checkpoint is " + globalSigned.statement().modelDigest());
        }
        OpenRound o = newOpenRound(record, clock.millis() + config.roundTimeout().toMillis());
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
            ModelWeights weights = ModelFiles.read(spoolDir(record.round()).resolve(statement.clientId() + ".bin")).weights();
            try {
                VerifiedUpdate update = verifier.reverify(statement, key, SignatureValue.of(statement.scheme(), e.signature()), weights);
                o.aggregator.accept(update);
                o.accepted.add(update.clientId());
                o.receipt.add(update.receiptEntry());
            } catch (UpdateRejectedException ex) {
                throw new IOException("spooled update of " + statement.clientId() + " in round " + record.round()
                        + " no longer verifies: " + ex.getMessage(), ex);
            }
        }
        open = o;
        state = FederationState.ROUND_OPEN;
        log.info("Round {} resumed with its original nonce; {} of {} updates already accepted", record.round(),
                o.accepted.size(), record.sampled().size());
    }

    private String describeConfig() {
        return (config.requireSignatures() ? "" : "unsigned=true ") + "strategy=" + strategy.name() + " params=" + config.strategyParams() + " model=" + config.describeInitialModel()
                + " rounds=" + config.rounds() + " minClients=" + config.minClients() + " clientsPerRound="
                + config.clientsPerRound() + " fraction=" + config.clientFraction() + " schemes=" + config.acceptedSchemes();
    }

    private void setGlobal(ModelWeights weights, SignedModel signed) {
        List<ByteString> chunks = new ArrayList<>();
        weights.writeChunks(config.chunkBytes(), b -> chunks.add(ByteString.copyFrom(b)));
        this.global = weights;
        this.globalSigned = signed;
        this.globalChunks = List.copyOf(chunks);
    }

    /**
     * Signs the model over the ledger head and writes its checkpoint. The store calls this under the database
     * lock (a {@link Ledger.Publication}) and appends the model's ledger entry right after {@code head}; so it
     * must not take the engine's lock (threads holding that lock wait for the database's).
     */
    private SignedModel signAndCheckpoint(long round, ModelWeights model, PayloadDigest parent, List<ReceiptEntry> receipt,
                                          PayloadDigest strategyState, LedgerHead head) throws IOException {
        ModelStatement statement = new ModelStatement(config.federationId(), round, model.digest(), parent, head,
                strategyState, receipt, coordinatorKey.scheme(), coordinatorKey.keyId());
        SignedModel signed = new SignedModel(statement, signer.sign(statement.encode()));
        ModelFiles.write(checkpoint(round), model, signed);
        return signed;
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Restores the strategy's state (a server optimiser's moments) from its file, but only the state the
     * checkpoint's signed statement names: a state file changed on disk would steer the next signed model.
     */
    private void restoreStrategyState(long round, PayloadDigest signed) throws IOException {
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

    /** Starts the round loop on its own thread, and the trust directory's watch. */
    public void start() {
        trustWatcher.start(waitTimer, config.trustReloadInterval());
        loop = new Thread(this::runLoop, "pqfl-rounds");
        loop.setDaemon(true);
        loop.start();
    }

    /** Waits until the last round closed (true) or the timeout passed (false); rethrows a loop failure. */
    public boolean awaitFinished(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (state != FederationState.FINISHED && failure == null && !stopping) {
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
        return state == FederationState.FINISHED;
    }

    @Override
    public void close() throws SQLException, InterruptedException {
        stopping = true;
        lock.lock();
        try {
            signalChange();
        } finally {
            lock.unlock();
        }
        if (loop != null) {
            loop.join(10_000);
        }
        trustWatcher.close();
        waitTimer.shutdown();
        db.close();
    }

    private void runLoop() {
        try {
            while (!stopping) {
                OpenRound round;
                lock.lock();
                try {
                    if (open == null) {
                        long next = lastClosed + 1;
                        if (next > config.rounds()) {
                            state = FederationState.FINISHED;
                            signalChange();
                            log.info("Federation {} finished: {} rounds", config.federationId(), lastClosed);
                            return;
                        }
                        state = FederationState.WAITING_FOR_CLIENTS;
                        signalChange();
                        List<ClientId> live;
                        while (!stopping && (live = eligible()).size() < config.minClients()) {
                            changed.await(500, TimeUnit.MILLISECONDS);
                        }
                        if (stopping) {
                            return;
                        }
                        openRound(next, eligible());
                    }
                    round = open;
                    while (!stopping && !round.settled(config.closeOnRejection()) && clock.millis() < round.deadlineMs) {
                        changed.await(Math.max(1, Math.min(500, round.deadlineMs - clock.millis())), TimeUnit.MILLISECONDS);
                    }
                    if (stopping) {
                        return;
                    }
                    round.closing = true;
                    state = FederationState.AGGREGATING;
                    signalChange();
                } finally {
                    lock.unlock();
                }
                closeRound(round);
            }
        } catch (Throwable t) {
            failure = t;
            log.error("Round loop failed", t);
            lock.lock();
            try {
                signalChange();
            } finally {
                lock.unlock();
            }
        }
    }

    private List<ClientId> eligible() {
        List<ClientId> live = new ArrayList<>();
        for (ClientId id : registry.live()) {
            directory.find(id).filter(c -> !c.revoked()).ifPresent(c -> live.add(id));
        }
        metrics.connectedClients(live.size());
        return live;
    }

    private void openRound(long number, List<ClientId> live) throws SQLException, IOException {
        int k = config.clientsPerRound() > 0
                ? Math.min(config.clientsPerRound(), live.size())
                : Math.max(config.minClients(), (int) Math.ceil(config.clientFraction() * live.size()));
        List<ClientId> pool = new ArrayList<>(live);
        Collections.shuffle(pool, sampler);
        List<ClientId> sampled = pool.subList(0, Math.min(k, pool.size())).stream()
                .sorted(Comparator.comparing(ClientId::value)).toList();
        long deadline = clock.millis() + config.roundTimeout().toMillis();
        RoundRecord record = new RoundRecord(number, RoundNonce.random(secureRandom), RoundRecord.State.OPEN, sampled,
                globalSigned.statement().modelDigest(), deadline, null);
        deleteRecursively(spoolDir(number));
        runs.openRound(record);
        open = newOpenRound(record, deadline);
        state = FederationState.ROUND_OPEN;
        signalChange();
        log.info("Round {} open: {} of {} live clients sampled, nonce {}, deadline in {} s", number, sampled.size(),
                live.size(), record.nonce(), config.roundTimeout().toSeconds());
    }

    private OpenRound newOpenRound(RoundRecord record, long deadlineMs) {
        OpenRound o = new OpenRound();
        o.record = record;
        o.deadlineMs = deadlineMs;
        o.openedAt = clock.instant();
        o.context = new RoundContext(config.federationId(), record.round(), record.nonce(), record.baseModelDigest(),
                global.manifest(), Set.copyOf(record.sampled()));
        o.aggregator = strategy.begin(record.round(), global);
        TaskHeader header = TaskHeader.newBuilder()
                .setFederationId(config.federationId())
                .setRound(record.round())
                .setNonce(ByteString.copyFrom(record.nonce().bytes()))
                .setConfig(WireMapping.toWire(strategy.configureRound(record.round(), config.training())))
                .setManifest(WireMapping.toWire(global.manifest()))
                .setModelRound(globalSigned.statement().modelRound())
                .setModelBytes(global.manifest().totalBytes())
                .setDeadlineUnixMs(deadlineMs)
                .build();
        o.task = new Task(header, globalChunks, WireMapping.toWire(globalSigned), globalSigned.statement().modelDigest(), signer);
        return o;
    }

    private void closeRound(OpenRound round) throws SQLException, IOException {
        long number = round.record.round();
        Duration took = Duration.between(round.openedAt, clock.instant());
        int accepted = round.accepted.size();
        ModelWeights next = null;
        String unusable = null;
        if (accepted >= config.minUpdates()) {
            try {
                next = round.aggregator.finish();
                unusable = unusableAggregate(next, round.context.manifest());
            } catch (AggregationException e) {
                unusable = e.getMessage();
            }
        }
        if (next == null && unusable == null) {
            skipRound(round, took, "TOO_FEW_UPDATES", accepted + " accepted, " + config.minUpdates() + " required");
            log.warn("Round {} skipped: {} updates accepted by the deadline, {} required; the global model is unchanged",
                    number, accepted, config.minUpdates());
        } else if (unusable != null) {
            skipRound(round, took, "BAD_AGGREGATE", unusable);
            log.error("Round {} skipped: the aggregate of {} updates is not signable ({}); the global model is unchanged",
                    number, accepted, unusable);
        } else {
            Optional<ModelWeights> state = strategy.state();
            if (state.isPresent()) {
                ModelFiles.write(strategyState(number), state.get(), null);
            }
            PayloadDigest stateDigest = state.map(ModelWeights::digest).orElse(null);
            PayloadDigest parent = globalSigned.statement().modelDigest();
            ModelWeights model = next;
            SignedModel signed = runs.completeRound(number, accepted, round.rejected,
                    head -> signAndCheckpoint(number, model, parent, round.receipt, stateDigest, head));
            lock.lock();
            try {
                setGlobal(model, signed);
                finishRound(number);
            } finally {
                lock.unlock();
            }
            metrics.round("completed", took);
            listener.roundClosed(number, true, took, accepted, round.rejected);
            log.info("Round {} complete: {} updates aggregated ({} rejected) with {}, new model {} signed",
                    number, accepted, round.rejected, strategy.name(), signed.statement().modelDigest());
        }
        deleteRecursively(spoolDir(number));
    }

    /** Closes a round without a new model: recorded with its reason, the global model unchanged. */
    private void skipRound(OpenRound round, Duration took, String reason, String detail) throws SQLException {
        long number = round.record.round();
        int accepted = round.accepted.size();
        runs.closeRound(number, RoundRecord.State.SKIPPED, null, accepted, round.rejected,
                new Ledger.Draft(LedgerEntry.Kind.ROUND_SKIPPED, number, null, null, null, null, null, null, reason, detail));
        lock.lock();
        try {
            finishRound(number);
        } finally {
            lock.unlock();
        }
        metrics.round("skipped", took);
        listener.roundClosed(number, false, took, accepted, round.rejected);
    }

    /**
     * Why an aggregate must not be signed, or null when it may: the coordinator signs only finite models built on
     * the round's manifest, whatever the strategy computed.
     */
    static String unusableAggregate(ModelWeights next, io.pqfl.protocol.ModelManifest roundManifest) {
        if (!next.manifest().equals(roundManifest)) {
            return "its manifest is not the round's: " + roundManifest.describeMismatch(next.manifest());
        }
        int bad = next.firstNonFiniteTensor();
        if (bad >= 0) {
            return "NON_FINITE: tensor " + roundManifest.tensors().get(bad).name() + " contains NaN or infinity";
        }
        return null;
    }

    private void finishRound(long number) {
        lastClosed = number;
        open = null;
        signalChange();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    // ---------------------------------------------------------------- the service's entry points

    private static CertificateChecker certificateChecker(CoordinatorConfig config, Clock clock)
            throws IOException {
        if (config.clientCaCert() == null) {
            return null;
        }
        try {
            return CertificateChecker.load(config.clientCaCert(), config.clientCrl(), clock);
        } catch (PkiException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** A fresh challenge for {@code clientId}'s Hello; stateless, so asking costs the coordinator nothing. */
    public byte[] challenge(ClientId clientId) {
        return authenticator.challenge(clientId);
    }

    /** When {@code challenge} expires, in milliseconds since the epoch. */
    public long challengeExpiry(byte[] challenge) {
        return authenticator.expiresAt(challenge);
    }

    /**
     * A client proves possession of its key (and, optionally, presents its federation certificate, which admits
     * it when it is not in the trust directory) and gets a session. See {@link Authenticator#hello}.
     */
    public Sessions.Session hello(Authenticator.Claim claim) throws UpdateRejectedException {
        Authenticator.Admission admission;
        try {
            admission = authenticator.hello(claim);
        } catch (UpdateRejectedException e) {
            metrics.updateRejected(e.reason().name());
            log.warn("Refused Hello from {}: {}", claim.clientId(), e.toString());
            throw e;
        }
        if (admission.admitted().isPresent()) {
            recordIdentity(LedgerEntry.Kind.CLIENT_CERTIFIED, claim.clientId(), admission.key(),
                    encoded(admission.admitted().get()), null,
                    "serial " + Certificates.serialHex(admission.admitted().get().getSerialNumber()));
        }
        registry.seen(claim.clientId());
        lock.lock();
        try {
            signalChange();
        } finally {
            lock.unlock();
        }
        return admission.session();
    }

    private static byte[] encoded(java.security.cert.X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("cannot encode an admitted certificate", e);
        }
    }

    /**
     * The session a GetTask or SubmitUpdate call carries, re-checked against the directory and, under mutual
     * TLS, the connection's certificate ({@code tlsPeer}, null without one).
     */
    public Sessions.Session authenticate(String token, java.security.cert.X509Certificate tlsPeer)
            throws UpdateRejectedException {
        Sessions.Session s = authenticator.authenticate(token, tlsPeer);
        registry.seen(s.clientId());
        return s;
    }

    /** Waits up to {@code wait} for a task for this client in the open round. */
    public TaskOutcome awaitTask(ClientId clientId, Duration wait) throws InterruptedException {
        if (registry.isKnown(clientId)) {
            registry.seen(clientId);
        }
        long end = System.nanoTime() + wait.toNanos();
        lock.lock();
        try {
            while (true) {
                long left = end - System.nanoTime();
                TaskOutcome outcome = decide(clientId, left <= 0);
                if (outcome != null) {
                    return outcome;
                }
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The outcome for a waiting client now, or null to keep waiting; {@code final} forces an answer. Under the lock. */
    private TaskOutcome decide(ClientId clientId, boolean timedOut) {
        if (state == FederationState.FINISHED) {
            return new Finished();
        }
        OpenRound o = open;
        boolean settledByRejection = o != null && config.closeOnRejection() && o.failed.contains(clientId);
        if (o != null && !o.closing && o.record.sampled().contains(clientId) && !o.accepted.contains(clientId)
                && !settledByRejection) {
            return new TaskReady(o.task);
        }
        if (timedOut || stopping) {
            return new NoTask(!registry.isKnown(clientId) ? "say Hello first"
                    : o == null ? "no round is open" : "not sampled for round " + o.record.round());
        }
        return null;
    }

    /** A client's pending task request: answered when its task is ready, the run ends, or its wait runs out. */
    public final class TaskWait {
        private final ClientId clientId;
        private final Consumer<TaskOutcome> callback;
        private ScheduledFuture<?> timeout;

        private TaskWait(ClientId clientId, Consumer<TaskOutcome> callback) {
            this.clientId = clientId;
            this.callback = callback;
        }

        /** The client went away: forget the wait without answering. */
        public void cancel() {
            lock.lock();
            try {
                waits.remove(this);
            } finally {
                lock.unlock();
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
        }
    }

    private final Set<TaskWait> waits = new LinkedHashSet<>();
    private final ScheduledExecutorService waitTimer =
            Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "pqfl-task-waits");
                t.setDaemon(true);
                return t;
            });

    /**
     * Like {@link #awaitTask}, without holding a thread while waiting: {@code callback} receives the outcome
     * once, from the timer or from whichever thread changed the federation's state (never under the engine's
     * lock). A thousand waiting clients cost a thousand small objects, not a thousand threads.
     */
    public TaskWait awaitTaskAsync(ClientId clientId, Duration wait, Consumer<TaskOutcome> callback) {
        if (registry.isKnown(clientId)) {
            registry.seen(clientId);
        }
        TaskWait w = new TaskWait(clientId, callback);
        TaskOutcome now;
        lock.lock();
        try {
            now = decide(clientId, wait.isZero() || wait.isNegative());
            if (now == null) {
                waits.add(w);
                w.timeout = waitTimer.schedule(() -> expire(w), wait.toNanos(), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
        if (now != null) {
            callback.accept(now);
        }
        return w;
    }

    /** Task requests waiting for an answer now. */
    public int pendingTaskWaits() {
        lock.lock();
        try {
            return waits.size();
        } finally {
            lock.unlock();
        }
    }

    private void expire(TaskWait w) {
        TaskOutcome outcome;
        lock.lock();
        try {
            if (!waits.remove(w)) {
                return;
            }
            outcome = decide(w.clientId, true);
        } finally {
            lock.unlock();
        }
        w.callback.accept(outcome);
    }

    /** Wakes threads waiting on the condition and answers the async waits that can be answered. Under the lock. */
    private void signalChange() {
        changed.signalAll();
        if (waits.isEmpty()) {
            return;
        }
        List<Runnable> answers = new ArrayList<>();
        for (var it = waits.iterator(); it.hasNext(); ) {
            TaskWait w = it.next();
            TaskOutcome outcome = decide(w.clientId, false);
            if (outcome != null) {
                it.remove();
                w.timeout.cancel(false);
                answers.add(() -> w.callback.accept(outcome));
            }
        }
        for (Runnable a : answers) {
            waitTimer.execute(a);
        }
    }

    public Status status() {
        lock.lock();
        try {
            OpenRound o = open;
            return new Status(config.federationId(), state, o == null ? lastClosed : o.record.round(), lastClosed,
                    config.rounds(), registry.live().size(), globalSigned.statement().modelDigest(),
                    globalSigned.statement().modelRound());
        } finally {
            lock.unlock();
        }
    }

    public VerifyingKey coordinatorKey() {
        return coordinatorKey.verifyingKey();
    }

    public String federationId() {
        return config.federationId();
    }

    public long maxUpdateBytes() {
        return config.maxUpdateBytes();
    }

    public CoordinatorConfig config() {
        return config;
    }

    /**
     * Starts an upload for an authenticated session: the header must name the session's client and key and pass
     * the round's checks; an upload of the same client still in progress is superseded (so a client whose
     * connection broke can retry at once); a slot of the upload budget is reserved, or the upload is refused with
     * BUSY. On success the caller streams tensor chunks into the returned upload and must end it with
     * {@link Upload#finish} or {@link Upload#abort}, which free the slot on every path.
     *
     * @param cancelStream ends this upload's stream if a newer upload of the same client supersedes it (called
     *     outside the engine's lock); the superseded upload's slot is freed at once, not when its stream ends
     */
    public Upload beginUpload(UpdateHeader header, Sessions.Session session, Runnable cancelStream)
            throws UpdateRejectedException {
        VerifyingKey key;
        long reserved;
        Upload upload;
        Upload superseded = null;
        lock.lock();
        try {
            if (!header.clientId().equals(session.clientId()) || !header.keyId().equals(session.keyId())) {
                throw new UpdateRejectedException(RejectReason.SESSION_MISMATCH, "the update names client " + header.clientId()
                        + " and key " + header.keyId() + ", the session is " + session.clientId() + "'s with key " + session.keyId());
            }
            OpenRound o = open != null && !open.closing ? open : null;
            if (o != null && o.rejectionsOf(header.clientId()) >= MAX_REJECTIONS_PER_ROUND) {
                throw new UpdateRejectedException(RejectReason.REJECTION_LIMIT, "client " + header.clientId() + " had "
                        + MAX_REJECTIONS_PER_ROUND + " updates refused in round " + o.record.round()
                        + "; it may not try again before the next round");
            }
            key = verifier.checkHeader(header, o == null ? null : o.context);
            if (o.accepted.contains(header.clientId())) {
                throw new UpdateRejectedException(RejectReason.DUPLICATE,
                        "client " + header.clientId() + " already submitted an update for round " + header.round());
            }
            reserved = budget.perUpload();
            if (!budget.tryReserve(reserved)) {
                throw new UpdateRejectedException(RejectReason.BUSY, "the coordinator has " + budget.uploads()
                        + " uploads in progress (limit " + budget.describe() + "); retry shortly");
            }
            upload = new Upload(header, key, reserved, cancelStream);
            superseded = o.inFlight.put(header.clientId(), upload);
            if (superseded != null) {
                // Under the lock: the older upload can no longer be accepted, and its slot is free now.
                superseded.superseded = true;
                superseded.release();
            }
        } catch (UpdateRejectedException e) {
            if (e.reason() == RejectReason.BUSY || e.reason() == RejectReason.REJECTION_LIMIT) {
                metrics.updateRejected(e.reason().name());
                log.debug("Upload of {} for round {} refused: {}", session.clientId(), header.round(), e.getMessage());
            } else {
                recordRejection(session.clientId(), header, e, null, null);
            }
            throw e;
        } finally {
            lock.unlock();
        }
        if (superseded != null) {
            superseded.cancelStream.run();
        }
        return upload;
    }

    /**
     * Refusals of one client ledgered per round; beyond it the client's uploads are refused up front
     * (REJECTION_LIMIT, not ledgered), so one enrolled client cannot fill the ledger at its call rate.
     */
    static final int MAX_REJECTIONS_PER_ROUND = 16;

    /** One client's update stream in progress. Not thread-safe (gRPC delivers one message at a time). */
    public final class Upload {
        private final UpdateHeader header;
        private final VerifyingKey key;
        private final long reserved;
        private final Runnable cancelStream;
        /** Dropped when the upload ends, so a stream the client keeps open holds no tensor memory. */
        private WeightsReceiver receiver;
        private boolean done;
        /** Set under the engine's lock when a newer upload of the same client took this one's place. */
        private volatile boolean superseded;

        private Upload(UpdateHeader header, VerifyingKey key, long reserved, Runnable cancelStream) {
            this.header = header;
            this.key = key;
            this.reserved = reserved;
            this.cancelStream = cancelStream;
            this.receiver = new WeightsReceiver(header.manifest());
        }

        public void chunk(ByteBuffer bytes) throws UpdateRejectedException {
            if (superseded) {
                throw abort(new UpdateRejectedException(RejectReason.INCOMPLETE,
                        "superseded by a newer upload of the same client"));
            }
            int n = bytes.remaining();
            try {
                receiver.accept(bytes);
            } catch (WeightsReceiver.OverflowException e) {
                throw abort(new UpdateRejectedException(RejectReason.TOO_LARGE, e.getMessage()));
            }
            metrics.bytesReceived(n);
        }

        /** Ends the upload with the client's signature: verifies and, if all is well, aggregates. */
        public long finish(byte[] signatureBytes) throws UpdateRejectedException {
            if (superseded) {
                throw abort(new UpdateRejectedException(RejectReason.INCOMPLETE,
                        "superseded by a newer upload of the same client"));
            }
            try {
                return verifyAndAccept(signatureBytes);
            } finally {
                release(); // whatever happened, the slot is free again
            }
        }

        private long verifyAndAccept(byte[] signatureBytes) throws UpdateRejectedException {
            PayloadDigest digest = receiver.digest();
            ModelWeights weights = receiver.isComplete() ? receiver.weights() : null;
            SignatureValue signature = SignatureValue.of(header.scheme(), signatureBytes);
            VerifiedUpdate update;
            long verifyStart = System.nanoTime();
            try {
                update = metrics.timeVerification(() -> {
                    try {
                        return verifier.verify(header, key, digest, receiver.receivedBytes(), weights, signature);
                    } catch (UpdateRejectedException e) {
                        throw new RejectedWrapper(e);
                    }
                });
            } catch (RejectedWrapper w) {
                UpdateStatement attempted = weights == null ? null : header.statement(digest);
                throw abort(w.rejection, attempted, signatureBytes);
            }
            long verifyNanos = System.nanoTime() - verifyStart;
            long seq = accept(update);
            listener.accepted(header.clientId(), header.round(), verifyNanos, receiver.receivedBytes() + signatureBytes.length);
            return seq;
        }

        /** Abandons the upload (the client went away, broke the stream, or stalled); records the rejection. */
        public UpdateRejectedException abort(UpdateRejectedException e) {
            return abort(e, null, null);
        }

        private UpdateRejectedException abort(UpdateRejectedException e, UpdateStatement attempted, byte[] signature) {
            if (!done) {
                done = true;
                receiver = null;
                release();
                recordRejection(header.clientId(), header, e, attempted, signature);
            }
            return e;
        }

        /** Frees the budget slot and the client's in-flight entry; idempotent. */
        private void release() {
            lock.lock();
            try {
                if (reservedHeld) {
                    reservedHeld = false;
                    budget.release(reserved);
                }
                if (open != null && open.record.round() == header.round()) {
                    open.inFlight.remove(header.clientId(), this);
                }
            } finally {
                lock.unlock();
            }
        }

        private boolean reservedHeld = true;

        private long accept(VerifiedUpdate update) throws UpdateRejectedException {
            // The spool file (written and fsynced) goes first, outside the lock, so that concurrent uploads
            // do not queue behind each other's disk writes; only the ledger entry and the aggregate are serialised.
            // Each upload spools under its own name; only the one that is accepted takes the client's file name.
            Path part = spoolDir(header.round()).resolve(header.clientId() + "." + uploadIds.incrementAndGet() + ".part");
            Path spooled = spoolDir(header.round()).resolve(header.clientId() + ".bin");
            try {
                ModelFiles.write(part, update.weights(), null);
            } catch (IOException e) {
                throw new UncheckedIOException(new IOException("cannot spool update: " + e.getMessage(), e));
            }
            lock.lock();
            try {
                OpenRound o = open;
                if (o == null || o.closing || o.record.round() != header.round()) {
                    Files.deleteIfExists(part);
                    throw abort(new UpdateRejectedException(RejectReason.STALE_ROUND,
                            "round " + header.round() + " closed while the update was being received"));
                }
                if (superseded) {
                    Files.deleteIfExists(part);
                    throw abort(new UpdateRejectedException(RejectReason.INCOMPLETE,
                            "superseded by a newer upload of the same client"));
                }
                if (o.accepted.contains(header.clientId())) {
                    Files.deleteIfExists(part);
                    throw abort(new UpdateRejectedException(RejectReason.DUPLICATE,
                            "client " + header.clientId() + " already submitted an update for round " + header.round()));
                }
                Files.move(part, spooled, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                if (rememberedKeys.add(key.keyId())) {
                    ledger.rememberKey(key);
                }
                LedgerEntry entry = ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_ACCEPTED, header.round(),
                        header.clientId().value(), header.keyId().hex(), header.scheme().displayName(),
                        update.statement().encode(), update.signature().bytes(), update.digest().bytes(), null,
                        update.numExamples() + " examples"));
                o.aggregator.accept(update);
                o.accepted.add(update.clientId());
                o.receipt.add(update.receiptEntry());
                done = true;
                signalChange();
                metrics.updateAccepted();
                log.info("Accepted update from {} (key {}) for round {}: {} examples, digest {}", header.clientId(),
                        header.keyId(), header.round(), update.numExamples(), update.digest());
                return entry.seq();
            } catch (SQLException | IOException e) {
                throw new UncheckedIOException(new IOException("cannot record update: " + e.getMessage(), e));
            } finally {
                lock.unlock();
            }
        }
    }

    private static final class RejectedWrapper extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient UpdateRejectedException rejection;

        RejectedWrapper(UpdateRejectedException rejection) {
            super(rejection.getMessage(), null, false, false);
            this.rejection = rejection;
        }
    }

    /**
     * Records a refused update of an authenticated client: metrics, a log line and a ledger entry, all under the
     * session's client id; what the header claimed appears only in the (escaped, bounded) message.
     */
    private void recordRejection(ClientId client, UpdateHeader h, UpdateRejectedException e,
                                 UpdateStatement attempted, byte[] signature) {
        metrics.updateRejected(e.reason().name());
        listener.rejected(client.value(), h.round(), e.reason());
        int count;
        lock.lock();
        try {
            count = open != null && open.record.round() == h.round() ? open.countRejection(client) : 0;
        } finally {
            lock.unlock();
        }
        if (count > MAX_REJECTIONS_PER_ROUND) {
            log.debug("Rejected update from {} for round {} (not ledgered: over the per-round limit): {}", client, h.round(), e);
            return;
        }
        log.warn("Rejected update from {} (key {}) for round {}: {}", client, h.keyId(), h.round(), e.toString());
        try {
            ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, h.round(), client.value(),
                    h.keyId().hex(), h.scheme().displayName(), attempted == null ? null : attempted.encode(), signature,
                    attempted == null ? null : attempted.updateDigest().bytes(), e.reason().name(), e.getMessage()));
        } catch (SQLException ex) {
            log.error("Cannot record rejection of {} in the ledger", client, ex);
        }
        lock.lock();
        try {
            if (open != null && open.record.round() == h.round()) {
                open.rejected++;
                // A client that lost its stream (INCOMPLETE) may retry; other verdicts settle its part of the round.
                if (e.reason() != RejectReason.INCOMPLETE && open.record.sampled().contains(client)) {
                    open.failed.add(client);
                    signalChange();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records a rejection of an authenticated client's stream whose header could not be decoded; {@code detail}
     * is escaped and bounded before it reaches the log or the ledger.
     */
    public void recordMalformed(ClientId client, long round, RejectReason reason, String detail) {
        String safe = LogSafe.text(detail);
        metrics.updateRejected(reason.name());
        listener.rejected(client.value(), round, reason);
        log.warn("Rejected update stream from {}: {}: {}", client, reason, safe);
        try {
            ledger.append(new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, round, client.value(), null, null, null, null,
                    null, reason.name(), safe));
        } catch (SQLException ex) {
            log.error("Cannot record rejection in the ledger", ex);
        }
    }

    /** First step of a token enrollment: a fresh challenge for this client and key. */
    public byte[] beginEnrollment(ClientId clientId, byte[] publicKey) throws UpdateRejectedException {
        return enrollment.begin(clientId, publicKey);
    }

    /** Second step: checks the proof of possession and the token, enrolls the key, and records it in the ledger. */
    public VerifyingKey completeEnrollment(ClientId clientId, byte[] publicKey, String token, byte[] challenge,
                                                         byte[] signature) throws UpdateRejectedException {
        try {
            var enrolled = enrollment.complete(clientId, publicKey, token, challenge, signature);
            recordIdentity(LedgerEntry.Kind.CLIENT_ENROLLED, clientId, enrolled.key(), enrolled.statement(),
                    enrolled.signature(), "one-time token");
            log.info("Enrolled client {} with {} key {} (one-time token)", clientId, enrolled.key().scheme(),
                    enrolled.key().keyId());
            return enrolled.key();
        } catch (UpdateRejectedException e) {
            metrics.updateRejected(e.reason().name());
            log.warn("Refused enrollment of {}: {}: {}", clientId, e.reason(), e.getMessage());
            throw e;
        } catch (SQLException | IOException e) {
            throw new UncheckedIOException(new IOException("cannot record the enrollment: " + e.getMessage(), e));
        }
    }

    public CoordinatorMetrics metrics() {
        return metrics;
    }

    /** One-time enrollment tokens of this coordinator's database. */
    public EnrollmentTokens tokens() {
        return tokens;
    }

    private void recordIdentity(LedgerEntry.Kind kind, ClientId clientId, VerifyingKey key, byte[] statement,
                                byte[] signature, String detail) {
        try {
            ledger.rememberKey(key);
            ledger.append(new Ledger.Draft(kind, status().currentRound(), clientId.value(), key.keyId().hex(),
                    key.scheme().displayName(), statement, signature, null, null, detail));
        } catch (SQLException e) {
            log.error("Cannot record {} of {} in the ledger", kind, clientId, e);
        }
    }

    /** The ledger, for tests and the operator's tools. */
    public Ledger ledger() {
        return ledger;
    }

    public RunStore runs() {
        return runs;
    }

    /** The current global model and its signature. */
    public SignedModel globalModel() {
        lock.lock();
        try {
            return globalSigned;
        } finally {
            lock.unlock();
        }
    }

    public ModelWeights globalWeights() {
        lock.lock();
        try {
            return global;
        } finally {
            lock.unlock();
        }
    }
}
