package io.pqfl.client.agent;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.client.data.Examples;
import io.pqfl.client.train.LocalTrainer;
import io.pqfl.client.train.TrainResult;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.grpc.stub.MetadataUtils;
import io.pqfl.proto.v1.Challenge;
import io.pqfl.proto.v1.ChallengeRequest;
import io.pqfl.proto.v1.EnrollmentProof;
import io.pqfl.proto.v1.EnrollmentRequest;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.HelloRequest;
import io.pqfl.proto.v1.HelloResponse;
import io.pqfl.proto.v1.LocalMetrics;
import io.pqfl.proto.v1.SubmitResponse;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.proto.v1.TaskRequest;
import io.pqfl.proto.v1.UpdateHeader;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.protocol.ModelCatalog;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.Rejections;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SessionStatement;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;
import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's protocol loop: say hello, poll for a task, verify the global model against the pinned
 * coordinator key <em>before</em> loading it, train locally, sign the update statement, stream the update
 * with flow control, and repeat until the federation finishes. Retries with exponential backoff while the
 * coordinator is unavailable; logs the coordinator's reason when an update is refused.
 */
public final class ClientAgent {
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);
    private static final Metadata.Key<String> REASON = Metadata.Key.of(Rejections.REASON_TRAILER, Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> SESSION = Metadata.Key.of(SessionStatement.METADATA_KEY,
            Metadata.ASCII_STRING_MARSHALLER);

    /** How the agent behaves: built with {@link #builder}. */
    public static final class Settings {
        private final ClientId clientId;
        private final SigningKey key;
        private final VerifyingKey coordinatorKey;
        private final String device;
        private final Duration pollWait;
        private final Duration rpcTimeout;
        private final Duration maxBackoff;
        private final int maxConsecutiveRefusals;
        private final int chunkBytes;
        private final long seed;
        private final byte[] certificate;
        private final String enrollToken;
        private final SigningPolicy signing;

        private Settings(Builder b) {
            this.clientId = b.clientId;
            this.key = b.key;
            this.coordinatorKey = b.coordinatorKey;
            this.device = b.device;
            this.pollWait = b.pollWait;
            this.rpcTimeout = b.rpcTimeout;
            this.maxBackoff = b.maxBackoff;
            this.maxConsecutiveRefusals = b.maxConsecutiveRefusals;
            this.chunkBytes = b.chunkBytes;
            this.seed = b.seed;
            this.certificate = b.certificate == null ? null : b.certificate.clone();
            this.enrollToken = b.enrollToken;
            this.signing = b.signing;
        }

        /** Settings for client {@code clientId}, signing with {@code key}, trusting only {@code coordinatorKey}. */
        public static Builder builder(ClientId clientId, SigningKey key, VerifyingKey coordinatorKey) {
            return new Builder(clientId, key, coordinatorKey);
        }

        public ClientId clientId() {
            return clientId;
        }

        public SigningKey key() {
            return key;
        }

        public VerifyingKey coordinatorKey() {
            return coordinatorKey;
        }

        public String device() {
            return device;
        }

        public Duration pollWait() {
            return pollWait;
        }

        public Duration rpcTimeout() {
            return rpcTimeout;
        }

        public Duration maxBackoff() {
            return maxBackoff;
        }

        public int maxConsecutiveRefusals() {
            return maxConsecutiveRefusals;
        }

        public int chunkBytes() {
            return chunkBytes;
        }

        public long seed() {
            return seed;
        }

        /** The certificate (DER), or null; a copy. */
        public byte[] certificate() {
            return certificate == null ? null : certificate.clone();
        }

        public String enrollToken() {
            return enrollToken;
        }

        public SigningPolicy signing() {
            return signing;
        }

        /** Names the keys by id and leaves the enrollment token out: it is a secret until used. */
        @Override
        public String toString() {
            return "Settings[client " + clientId + ", key " + key.keyId() + ", pinned " + coordinatorKey.keyId()
                    + ", " + signing + ", device " + device + ", poll " + pollWait + ", certificate "
                    + (certificate != null) + ", enroll token " + (enrollToken != null) + "]";
        }

        /** Builds {@link Settings}; every option has a default but the identity and the pinned key. */
        public static final class Builder {
            private final ClientId clientId;
            private final SigningKey key;
            private final VerifyingKey coordinatorKey;
            private String device = "auto";
            private Duration pollWait = Duration.ofSeconds(20);
            private Duration rpcTimeout = Duration.ofMinutes(5);
            private Duration maxBackoff = Duration.ofSeconds(30);
            private int maxConsecutiveRefusals = 3;
            private int chunkBytes = 1 << 20;
            private long seed = 1;
            private byte[] certificate;
            private String enrollToken;
            private SigningPolicy signing = SigningPolicy.SIGNED;

            private Builder(ClientId clientId, SigningKey key, VerifyingKey coordinatorKey) {
                this.clientId = Objects.requireNonNull(clientId, "clientId");
                this.key = Objects.requireNonNull(key, "key");
                this.coordinatorKey = Objects.requireNonNull(coordinatorKey, "coordinatorKey");
            }

            /** {@code auto} (a GPU when DJL can use one), {@code cpu} or {@code gpu}; default {@code auto}. */
            public Builder device(String device) {
                this.device = Objects.requireNonNull(device, "device");
                return this;
            }

            /** How long one task poll may wait at the coordinator; default 20 s. */
            public Builder pollWait(Duration pollWait) {
                this.pollWait = Objects.requireNonNull(pollWait, "pollWait");
                return this;
            }

            /** The deadline of a task download (on top of the poll wait) and of an upload; default 5 min. */
            public Builder rpcTimeout(Duration rpcTimeout) {
                this.rpcTimeout = Objects.requireNonNull(rpcTimeout, "rpcTimeout");
                return this;
            }

            /** The longest wait between retries; default 30 s. */
            public Builder maxBackoff(Duration maxBackoff) {
                this.maxBackoff = Objects.requireNonNull(maxBackoff, "maxBackoff");
                return this;
            }

            /** After this many models in a row fail verification the agent stops; default 3. */
            public Builder maxConsecutiveRefusals(int n) {
                this.maxConsecutiveRefusals = n;
                return this;
            }

            /** The size of an upload's tensor chunks, a multiple of 4; default 1 MiB. */
            public Builder chunkBytes(int chunkBytes) {
                this.chunkBytes = chunkBytes;
                return this;
            }

            /** Seeds training and the retry jitter; default 1. */
            public Builder seed(long seed) {
                this.seed = seed;
                return this;
            }

            /** The client's federation certificate (DER), sent in Hello so a coordinator with the CA admits it. */
            public Builder certificate(byte[] der) {
                this.certificate = der == null ? null : der.clone();
                return this;
            }

            /** A one-time enrollment token: the agent registers its key with it before joining. */
            public Builder enrollToken(String token) {
                this.enrollToken = token;
                return this;
            }

            /** Whether updates are signed; default {@link SigningPolicy#SIGNED}. */
            public Builder signing(SigningPolicy signing) {
                this.signing = Objects.requireNonNull(signing, "signing");
                return this;
            }

            public Settings build() {
                if (rpcTimeout.isNegative() || rpcTimeout.isZero() || maxBackoff.isNegative() || maxBackoff.isZero()) {
                    throw new IllegalArgumentException("the call timeout and the longest backoff must be positive: "
                            + rpcTimeout + ", " + maxBackoff);
                }
                if (maxConsecutiveRefusals < 1) {
                    throw new IllegalArgumentException("at least one refusal must be allowed: " + maxConsecutiveRefusals);
                }
                if (chunkBytes < 4 || chunkBytes % 4 != 0) {
                    throw new IllegalArgumentException("chunk size must be a positive multiple of 4: " + chunkBytes);
                }
                return new Settings(this);
            }
        }
    }

    /**
     * What a harness plugs into the agent, fixed when it is built: a round observer, an update transform, a
     * computed update in place of training, and where accepted rounds are remembered. Built with {@link #builder}.
     */
    public static final class Hooks {
        private final Observer observer;
        private final UpdateTransform transform;
        private final LocalUpdate localUpdate;
        private final ClientState state;

        private Hooks(Builder b) {
            this.observer = b.observer;
            this.transform = b.transform;
            this.localUpdate = b.localUpdate;
            this.state = b.state != null ? b.state : ClientState.inMemory();
        }

        public static Builder builder() {
            return new Builder();
        }

        /** No hooks: DJL training, updates as trained, nothing observed, accepted rounds remembered in memory. */
        public static Hooks none() {
            return builder().build();
        }

        Observer observer() {
            return observer;
        }

        UpdateTransform transform() {
            return transform;
        }

        /** The update computation, or null to train with DJL. */
        LocalUpdate localUpdate() {
            return localUpdate;
        }

        ClientState state() {
            return state;
        }

        /** Builds {@link Hooks}; each hook left out does nothing. */
        public static final class Builder {
            private Observer observer = r -> { };
            private UpdateTransform transform = (round, global, trained) -> trained;
            private LocalUpdate localUpdate;
            private ClientState state;

            private Builder() {
            }

            /** Receives a {@link RoundReport} after each round the agent took part in. */
            public Builder observe(Observer observer) {
                this.observer = Objects.requireNonNull(observer, "observer");
                return this;
            }

            /** Changes the trained weights before they are signed (simulated model poisoning). */
            public Builder transformUpdates(UpdateTransform transform) {
                this.transform = Objects.requireNonNull(transform, "transform");
                return this;
            }

            /** Replaces DJL training with {@code update} (load tests); the rest of the agent is unchanged. */
            public Builder computeUpdates(LocalUpdate update) {
                this.localUpdate = Objects.requireNonNull(update, "update");
                return this;
            }

            /**
             * Where the agent remembers the newest task and model round it accepted per federation (default: in
             * memory, for the agent's life); with a file, an older task or model is refused across restarts too.
             */
            public Builder rememberIn(ClientState state) {
                this.state = Objects.requireNonNull(state, "state");
                return this;
            }

            public Hooks build() {
                return new Hooks(this);
            }
        }
    }

    /** What happened over the agent's life. */
    public record Summary(int roundsTrained, int updatesAccepted, int updatesRejected, int modelsRefused, boolean finished) {
    }

    /** Receives progress: the round, examples done so far, and examples in the round. */
    public interface Progress {
        /** Reports nothing: for agents run by harnesses and tests. */
        Progress NONE = new Progress() {
            @Override
            public void update(long round, long done, long total) {
            }

            @Override
            public void roundDone(long round) {
            }
        };

        void update(long round, long done, long total);

        void roundDone(long round);
    }

    /** Per-round measurements, for the simulation harness. */
    public record RoundReport(ClientId client, long round, long trainMillis, long digestNanos, long signNanos,
                              long updateBytes, int signatureBytes, long uploadMillis, boolean accepted, String reason,
                              double evalAccuracy) {
    }

    /** Receives a {@link RoundReport} after each round the agent took part in. */
    public interface Observer {
        void round(RoundReport report);
    }

    /** Changes the trained weights before they are signed: a model-poisoning client in simulations. */
    public interface UpdateTransform {
        ModelWeights apply(long round, ModelWeights global, ModelWeights trained);
    }

    /**
     * Computes a round's update instead of DJL training: for load tests, whose clients send real signed
     * updates of a real model's size without spending the machine on training.
     */
    public interface LocalUpdate {
        TrainResult compute(long round, ModelWeights global, TrainingConfig config);
    }

    private final FederationGrpc.FederationBlockingStub blocking;
    private final FederationGrpc.FederationStub async;
    private final Settings settings;
    private final Examples train;
    private final Examples eval;
    private final Progress progress;
    private final Random jitter;
    private final Observer observer;
    private final UpdateTransform transform;
    private final LocalUpdate localUpdate;
    private final ClientState state;
    private volatile String sessionToken;
    private volatile boolean stopping;
    private LocalTrainer trainer;
    private String federationId;
    private int trained;
    private int accepted;
    private int rejected;
    private int refused;

    /** An agent without hooks: see {@link #ClientAgent(Channel, Settings, Hooks, Examples, Examples, Progress)}. */
    public ClientAgent(Channel channel, Settings settings, Examples train, Examples eval, Progress progress) {
        this(channel, settings, Hooks.none(), train, eval, progress);
    }

    /**
     * @param channel to the coordinator; the agent does not close it
     * @param train the local training data (unused when {@code hooks} compute updates)
     * @param eval held-out data for local evaluation, or null
     */
    public ClientAgent(Channel channel, Settings settings, Hooks hooks, Examples train, Examples eval, Progress progress) {
        Objects.requireNonNull(channel, "channel");
        this.blocking = FederationGrpc.newBlockingStub(channel);
        this.async = FederationGrpc.newStub(channel);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.train = Objects.requireNonNull(train, "train");
        this.eval = eval;
        this.progress = Objects.requireNonNull(progress, "progress");
        this.jitter = new Random(settings.seed());
        Objects.requireNonNull(hooks, "hooks");
        this.observer = hooks.observer();
        this.transform = hooks.transform();
        this.localUpdate = hooks.localUpdate();
        this.state = hooks.state();
    }

    /** Asks the loop to end at the next opportunity (e.g. from a SIGTERM hook). */
    public void stop() {
        stopping = true;
    }

    /** Runs until the federation finishes, {@link #stop()} is called, or the coordinator keeps sending bad models. */
    public Summary run() throws InterruptedException {
        try {
            return runLoop();
        } catch (NotPinnedCoordinator e) {
            refused++;
            log.error("Stopping: {}", e.getMessage());
            return summary(false);
        } finally {
            if (trainer != null) {
                trainer.close();
            }
        }
    }

    /** The coordinator is not the one this client pinned: nothing it says is trusted, nothing is sent to it. */
    private static final class NotPinnedCoordinator extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotPinnedCoordinator(String message) {
            super(message, null, false, false);
        }
    }

    private Summary runLoop() throws InterruptedException {
        if (settings.enrollToken() != null) {
            Duration backoff = Duration.ofMillis(250);
            while (true) {
                try {
                    enroll();
                    break;
                } catch (StatusRuntimeException e) {
                    if (!retryable(e) || stopping) {
                        throw e;
                    }
                    log.warn("Coordinator unavailable for enrollment ({}); retrying in {} ms", e.getStatus().getCode(),
                            backoff.toMillis());
                    Thread.sleep(backoff.toMillis());
                    backoff = backoff.multipliedBy(2).compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff()
                            : backoff.multipliedBy(2);
                }
            }
        }
        hello();
        int consecutiveRefusals = 0;
        while (!stopping) {
            Task task;
            try {
                task = fetchTask();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.OUT_OF_RANGE) {
                    log.info("Federation {} finished; {} rounds trained, {} updates accepted", federationId, trained, accepted);
                    return summary(true);
                }
                if (code == Status.Code.NOT_FOUND) {
                    continue;
                }
                if (needsNewSession(e)) {
                    log.info("Session ended ({}); saying Hello again", e.getStatus().getDescription());
                    hello();
                    continue;
                }
                if (retryable(e)) {
                    backoffThenHello(e);
                    continue;
                }
                throw e;
            }
            if (task == null) {
                continue;
            }
            try {
                check(task);
            } catch (ModelRejectedException e) {
                refused++;
                consecutiveRefusals++;
                log.error("Refusing the task for round {}: {}. Not training on it.", task.header.getRound(),
                        e.getMessage());
                if (consecutiveRefusals >= settings.maxConsecutiveRefusals()) {
                    log.error("{} models in a row failed verification against the pinned coordinator key {}; stopping",
                            consecutiveRefusals, settings.coordinatorKey().keyId());
                    return summary(false);
                }
                Thread.sleep(1000);
                continue;
            }
            consecutiveRefusals = 0;
            trainAndSubmit(task);
        }
        return summary(false);
    }

    private Summary summary(boolean finished) {
        return new Summary(trained, accepted, rejected, refused, finished);
    }

    private static boolean retryable(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.CANCELLED
                || code == Status.Code.UNKNOWN || code == Status.Code.ABORTED;
    }

    /** Transport trouble, or the coordinator asking to come back later (rate limit, upload slots taken). */
    private static boolean retryable(StatusRuntimeException e) {
        String reason = reasonOf(e);
        return retryable(e.getStatus().getCode()) || "RATE_LIMITED".equals(reason) || "BUSY".equals(reason);
    }

    private static String reasonOf(StatusRuntimeException e) {
        return e.getTrailers() == null ? null : e.getTrailers().get(REASON);
    }

    /** The coordinator no longer knows the session (it expired, or the coordinator restarted). */
    private static boolean needsNewSession(StatusRuntimeException e) {
        return "SESSION_INVALID".equals(reasonOf(e));
    }

    /**
     * Every check before training, in order: the task is for this client and federation, its header is signed by
     * the pinned coordinator key over the model actually received, the model's own statement verifies, both name
     * the same model round, neither the task nor the model is older than what this client already accepted, and
     * the model is one this client can train. Then the task is remembered (on disk, when configured).
     */
    private void check(Task task) throws ModelRejectedException {
        TaskHeader h = task.header;
        if (!h.getClientId().equals(settings.clientId().value())) {
            throw new ModelRejectedException("the task is for client '" + h.getClientId() + "', not " + settings.clientId());
        }
        if (!h.getFederationId().equals(federationId)) {
            throw new ModelRejectedException("the task is for federation '" + h.getFederationId() + "', not " + federationId);
        }
        TaskStatement statement;
        try {
            statement = WireMapping.taskStatement(h, task.digest, settings.coordinatorKey().scheme(),
                    settings.coordinatorKey().keyId());
        } catch (IllegalArgumentException e) {
            throw new ModelRejectedException("malformed task header: " + e.getMessage(), e);
        }
        statement.verify(settings.coordinatorKey(), h.getSignature().toByteArray());
        task.signed.verify(settings.coordinatorKey(), federationId, task.digest);
        if (task.signed.statement().modelRound() != h.getModelRound()) {
            throw new ModelRejectedException("the task names model round " + h.getModelRound()
                    + ", the model's signed statement says " + task.signed.statement().modelRound());
        }
        var pinned = settings.coordinatorKey().keyId();
        long newestTask = state.newestTaskRound(federationId, pinned);
        long newestModel = state.newestModelRound(federationId, pinned);
        if (h.getRound() < newestTask) {
            throw new ModelRejectedException("the task is for round " + h.getRound() + ", but this client already accepted "
                    + "round " + newestTask + "'s task (an old task replayed?)");
        }
        if (h.getModelRound() < newestModel) {
            throw new ModelRejectedException("the model is from round " + h.getModelRound() + ", older than the round "
                    + newestModel + " model this client already trained on (an old model replayed?)");
        }
        if (localUpdate == null) {
            trainable(task.model.manifest());
        }
        try {
            state.accepted(federationId, pinned, h.getRound(), h.getModelRound());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot record the accepted task in " + state.file() + ": " + e.getMessage(), e);
        }
    }

    /** The built-in model this client trains for {@code manifest}; refused (not thrown) when there is none. */
    private static ModelCatalog trainable(ModelManifest manifest) throws ModelRejectedException {
        ModelCatalog architecture;
        try {
            architecture = ModelCatalog.byId(manifest.architecture());
        } catch (IllegalArgumentException e) {
            throw new ModelRejectedException("the coordinator's model '" + manifest.architecture()
                    + "' is not one this client can train (" + e.getMessage() + ")", e);
        }
        if (!architecture.manifest().equals(manifest)) {
            throw new ModelRejectedException("the coordinator's " + architecture.id() + " does not match this client's: "
                    + architecture.manifest().describeMismatch(manifest));
        }
        return architecture;
    }

    /**
     * Registers this client's key with the one-time token: asks for a challenge, signs the enrollment
     * statement over it (proof of possession) and completes. An already enrolled client carries on.
     */
    private void enroll() {
        String token = settings.enrollToken();
        com.google.protobuf.ByteString publicKey = com.google.protobuf.ByteString.copyFrom(settings.key().verifyingKey().encoded());
        try {
            var challenge = blocking.withDeadlineAfter(30, TimeUnit.SECONDS).beginEnrollment(
                    EnrollmentRequest.newBuilder().setClientId(settings.clientId().value())
                            .setPublicKey(publicKey).build());
            byte[] c = challenge.getChallenge().toByteArray();
            byte[] proof = EnrollmentStatement.prove(challenge.getFederationId(), settings.clientId(), c,
                    settings.key(), token);
            var result = blocking.withDeadlineAfter(30, TimeUnit.SECONDS).completeEnrollment(
                    EnrollmentProof.newBuilder().setClientId(settings.clientId().value()).setPublicKey(publicKey)
                            .setToken(token).setChallenge(com.google.protobuf.ByteString.copyFrom(c))
                            .setSignature(com.google.protobuf.ByteString.copyFrom(proof)).build());
            log.info("Enrolled in federation {} as {} with key {}", result.getFederationId(), settings.clientId(),
                    result.getKeyId());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                log.info("Already enrolled ({}); the token was not used", e.getStatus().getDescription());
                return;
            }
            throw e;
        }
    }

    private void hello() throws InterruptedException {
        Duration backoff = Duration.ofMillis(250);
        while (true) {
            try {
                Challenge challenge = blocking.withDeadlineAfter(30, TimeUnit.SECONDS).getChallenge(
                        ChallengeRequest.newBuilder().setClientId(settings.clientId().value()).build());
                if (federationId != null && !federationId.equals(challenge.getFederationId())) {
                    throw new IllegalStateException("the coordinator now serves federation " + challenge.getFederationId()
                            + ", not " + federationId);
                }
                if (!challenge.getCoordinatorKeyId().equals(settings.coordinatorKey().keyId().hex())) {
                    String announced = challenge.getCoordinatorKeyId();
                    throw new NotPinnedCoordinator("the coordinator announces key "
                            + (announced.matches("[0-9a-f]{32}") ? announced : "(malformed)") + ", but this client pinned " + settings.coordinatorKey().keyId()
                            + ": it will not authenticate to it nor train on its models");
                }
                byte[] c = challenge.getChallenge().toByteArray();
                // The proof names the coordinator key this client pinned: it is good for that coordinator only.
                byte[] proof = SessionStatement.prove(challenge.getFederationId(), settings.coordinatorKey().keyId(),
                        settings.clientId(), c, settings.key());
                HelloRequest.Builder request = HelloRequest.newBuilder()
                        .setClientId(settings.clientId().value()).setKeyId(settings.key().keyId().hex())
                        .setScheme(settings.key().scheme().displayName()).setAgent("pqfl-client/0.1 java/"
                                + System.getProperty("java.version"))
                        .setChallenge(ByteString.copyFrom(c)).setSignature(ByteString.copyFrom(proof));
                if (settings.certificate() != null) {
                    request.setCertificate(com.google.protobuf.ByteString.copyFrom(settings.certificate()));
                }
                HelloResponse r = blocking.withDeadlineAfter(30, TimeUnit.SECONDS).hello(request.build());
                if (!r.getCoordinatorKeyId().equals(settings.coordinatorKey().keyId().hex())) {
                    log.warn("Coordinator announces model key {}, but the pinned key is {}: its models will be refused",
                            r.getCoordinatorKeyId(), settings.coordinatorKey().keyId());
                }
                if (federationId != null && !federationId.equals(r.getFederationId())) {
                    throw new IllegalStateException("the coordinator now serves federation " + r.getFederationId()
                            + ", not " + federationId);
                }
                federationId = r.getFederationId();
                sessionToken = r.getSessionToken();
                switch (settings.signing()) {
                    case SIGNED -> log.info("Joined federation {} as {} ({} key {})", federationId, settings.clientId(),
                            settings.key().scheme(), settings.key().keyId());
                    case UNSIGNED_BASELINE -> log.info("Joined federation {} as {} (key {}); updates are sent unsigned: "
                            + "the research baseline", federationId, settings.clientId(), settings.key().keyId());
                }
                return;
            } catch (StatusRuntimeException e) {
                if (!retryable(e) || stopping) {
                    throw e;
                }
                log.warn("Coordinator unavailable ({}); retrying in {} ms", e.getStatus().getCode(), backoff.toMillis());
                Thread.sleep(backoff.toMillis());
                backoff = next(backoff);
            }
        }
    }

    private Duration next(Duration backoff) {
        long doubled = Math.min(backoff.toMillis() * 2, settings.maxBackoff().toMillis());
        return Duration.ofMillis(doubled / 2 + (long) (jitter.nextDouble() * doubled / 2));
    }

    private void backoffThenHello(StatusRuntimeException e) throws InterruptedException {
        log.warn("Lost the coordinator ({}); reconnecting", e.getStatus().getCode());
        Thread.sleep(500);
        hello();
    }

    /** A received task; {@code digest} is computed over the bytes as they arrived. */
    private record Task(TaskHeader header, ModelWeights model, PayloadDigest digest, SignedModel signed) {
    }

    /** A stub whose calls carry the session token. */
    private <S extends io.grpc.stub.AbstractStub<S>> S withSession(S stub) {
        Metadata md = new Metadata();
        String token = sessionToken;
        if (token != null) {
            md.put(SESSION, token);
        }
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    private Task fetchTask() {
        Iterator<TaskChunk> it = withSession(blocking).withDeadlineAfter(settings.pollWait().toMillis() + settings.rpcTimeout().toMillis(),
                TimeUnit.MILLISECONDS).getTask(TaskRequest.newBuilder().setClientId(settings.clientId().value())
                .setWaitMs((int) settings.pollWait().toMillis()).build());
        TaskChunk first = it.next();
        if (!first.hasHeader()) {
            throw Status.INTERNAL.withDescription("task stream did not start with a header").asRuntimeException();
        }
        TaskHeader header = first.getHeader();
        ModelManifest manifest = WireMapping.fromWire(header.getManifest());
        WeightsReceiver receiver = new WeightsReceiver(manifest);
        while (it.hasNext()) {
            TaskChunk c = it.next();
            if (c.hasModelChunk()) {
                try {
                    receiver.accept(c.getModelChunk().asReadOnlyByteBuffer());
                } catch (WeightsReceiver.OverflowException e) {
                    throw Status.INTERNAL.withDescription("model larger than its manifest: " + e.getMessage()).asRuntimeException();
                }
            } else if (c.hasModelSignature()) {
                if (!receiver.isComplete()) {
                    throw Status.INTERNAL.withDescription("model stream ended early").asRuntimeException();
                }
                return new Task(header, receiver.weights(), receiver.digest(), WireMapping.fromWire(c.getModelSignature()));
            }
        }
        throw Status.INTERNAL.withDescription("task stream ended without the model signature").asRuntimeException();
    }

    private void trainAndSubmit(Task task) throws InterruptedException {
        long round = task.header.getRound();
        TrainingConfig config = WireMapping.fromWire(task.header.getConfig());
        TrainResult result;
        if (localUpdate != null) {
            result = localUpdate.compute(round, task.model, config);
        } else {
            if (trainer == null) {
                ModelCatalog architecture;
                try {
                    architecture = trainable(task.model.manifest());
                } catch (ModelRejectedException e) {
                    throw new IllegalStateException(e.getMessage(), e); // checked before: cannot happen
                }
                trainer = new LocalTrainer(architecture, LocalTrainer.chooseDevice(settings.device()));
                log.info("Training on {}", trainer.device());
            }
            long total = (long) train.size() * config.localEpochs();
            LongConsumer onProgress = done -> progress.update(round, done, total);
            result = trainer.train(task.model, train, eval, config, settings.seed() * 1_000_003L + round, onProgress);
        }
        progress.roundDone(round);
        trained++;

        ModelWeights update = transform.apply(round, task.model, result.weights());
        long digestStart = System.nanoTime();
        PayloadDigest updateDigest = update.digest();
        long digestNanos = System.nanoTime() - digestStart;
        long signStart = System.nanoTime();
        byte[] signature = switch (settings.signing()) {
            case SIGNED -> Signer.create(settings.key()).sign(new UpdateStatement(federationId, round,
                    RoundNonce.of(task.header.getNonce().toByteArray()), task.digest, settings.clientId(),
                    settings.key().keyId(), settings.key().scheme(), updateDigest, result.examples()).encode()).bytes();
            case UNSIGNED_BASELINE -> new byte[0];
        };
        long signNanos = System.nanoTime() - signStart;
        // The unsigned baseline names its key and scheme too: the coordinator admits an update by the key the
        // client enrolled, and checks both, signed or not.
        UpdateHeader header = UpdateHeader.newBuilder().setFederationId(federationId).setRound(round)
                .setNonce(task.header.getNonce()).setClientId(settings.clientId().value())
                .setKeyId(settings.key().keyId().hex()).setScheme(settings.key().scheme().displayName())
                .setBaseModelDigest(WireMapping.bytes(task.digest)).setManifest(WireMapping.toWire(update.manifest()))
                .setNumExamples(result.examples()).setUpdateBytes(update.manifest().totalBytes())
                .setMetrics(LocalMetrics.newBuilder().setTrainLoss(result.trainLoss())
                        .setEvalLoss(Double.isNaN(result.evalLoss()) ? 0 : result.evalLoss())
                        .setEvalAccuracy(Double.isNaN(result.evalAccuracy()) ? 0 : result.evalAccuracy())
                        .setEvalExamples(result.evalExamples()).setTrainMillis(result.trainMillis()))
                .build();
        Duration backoff = Duration.ofMillis(250);
        long uploadStart = System.nanoTime();
        BiConsumer<Boolean, String> report = (ok, why) -> observer.round(new RoundReport(settings.clientId(),
                round, result.trainMillis(), digestNanos, signNanos, update.manifest().totalBytes(), signature.length,
                (System.nanoTime() - uploadStart) / 1_000_000, ok, why, result.evalAccuracy()));
        while (!stopping) {
            try {
                SubmitResponse r = submit(header, update, signature, task.header.getDeadlineUnixMs());
                accepted++;
                log.info("Round {}: update accepted (ledger entry {}), {} examples", round, r.getLedgerSeq(), result.examples());
                report.accept(true, null);
                return;
            } catch (StatusRuntimeException e) {
                String reason = reasonOf(e);
                if (needsNewSession(e) && System.currentTimeMillis() < task.header.getDeadlineUnixMs()) {
                    log.info("Round {}: session ended ({}); saying Hello again before retrying", round,
                            e.getStatus().getDescription());
                    hello();
                    continue;
                }
                if (("BUSY".equals(reason) || "RATE_LIMITED".equals(reason))
                        && System.currentTimeMillis() < task.header.getDeadlineUnixMs()) {
                    log.info("Round {}: coordinator busy ({}); retrying in {} ms", round, reason, backoff.toMillis());
                    Thread.sleep(backoff.toMillis());
                    backoff = next(backoff);
                    continue;
                }
                if (reason != null) {
                    rejected++;
                    log.warn("Round {}: update rejected by the coordinator: {}", round, e.getStatus().getDescription());
                    report.accept(false, reason);
                    return;
                }
                if (!retryable(e.getStatus().getCode()) || System.currentTimeMillis() > task.header.getDeadlineUnixMs()) {
                    rejected++;
                    log.warn("Round {}: update not delivered: {}", round, e.getStatus());
                    report.accept(false, e.getStatus().getCode().name());
                    return;
                }
                log.warn("Round {}: coordinator unavailable while uploading ({}); retrying in {} ms", round,
                        e.getStatus().getCode(), backoff.toMillis());
                Thread.sleep(backoff.toMillis());
                backoff = next(backoff);
            }
        }
    }

    private SubmitResponse submit(UpdateHeader header, ModelWeights update, byte[] signature, long deadlineUnixMs)
            throws InterruptedException {
        long timeout = Math.max(10_000, Math.min(settings.rpcTimeout().toMillis(), deadlineUnixMs - System.currentTimeMillis() + 10_000));
        CompletableFuture<SubmitResponse> result = UploadPump.start(withSession(async).withDeadlineAfter(timeout,
                TimeUnit.MILLISECONDS), header, new WeightChunks(update, settings.chunkBytes()), signature);
        try {
            return result.get(timeout + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) {
                throw s;
            }
            throw Status.fromThrowable(e.getCause()).asRuntimeException();
        } catch (TimeoutException e) {
            throw Status.DEADLINE_EXCEEDED.withDescription("upload timed out").asRuntimeException();
        }
    }
}
