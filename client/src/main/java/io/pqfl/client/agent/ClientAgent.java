package io.pqfl.client.agent;

import io.grpc.Channel;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.trainer.Trainer;
import java.time.Duration;
import java.util.Objects;

/**
 * The client's protocol loop: say hello, poll for a task, verify the global model against the pinned
 * coordinator key <em>before</em> loading it, check that its model is the {@link Trainer}'s, train locally through
 * the trainer, sign the update statement, stream the update with flow control, and repeat until the federation
 * finishes. Retries with exponential backoff and jitter while
 * the coordinator is unavailable; logs the coordinator's reason when an update is refused.
 *
 * <p>Everything about an agent is fixed when it is built: {@link Settings} say how it behaves, {@link Hooks}
 * what harnesses plug in. {@link #stop()} is the one thing that may come later, from another thread.
 */
public final class ClientAgent {
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

            /** Seeds training (shuffling); default 1. */
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

            /**
             * Whether updates are signed; default {@link SigningPolicy#SIGNED}. It must be the coordinator's policy too,
             * which refuses updates made under the other.
             */
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

    /** What an aggregator sends with the update it signed: its partial aggregate, signed (null: nothing). */
    @FunctionalInterface
    public interface UpdateAttachment {
        io.pqfl.proto.v1.PartialAggregate attach(io.pqfl.protocol.UpdateStatement signed);
    }

    /**
     * What a harness plugs into the agent, fixed when it is built: a round observer, an update transform, and where
     * accepted rounds are remembered. Built with {@link #builder}.
     */
    public static final class Hooks {
        private final Observer observer;
        private final UpdateTransform transform;
        private final ClientState state;
        private final UpdateAttachment attachment;
        private final ModelCache models;

        private Hooks(Builder b) {
            this.attachment = b.attachment;
            this.models = b.models;
            this.observer = b.observer;
            this.transform = b.transform;
            this.state = b.state != null ? b.state : ClientState.inMemory();
        }

        public static Builder builder() {
            return new Builder();
        }

        /** No hooks: updates as trained, nothing observed, accepted rounds remembered in memory. */
        public static Hooks none() {
            return builder().build();
        }

        Observer observer() {
            return observer;
        }

        UpdateTransform transform() {
            return transform;
        }

        ClientState state() {
            return state;
        }

        UpdateAttachment attachment() {
            return attachment;
        }

        /** The cache of verified models, or null for the agent's own (one model). */
        ModelCache models() {
            return models;
        }

        /** Builds {@link Hooks}; each hook left out does nothing. */
        public static final class Builder {
            private Observer observer = r -> { };
            private UpdateTransform transform = (round, global, trained) -> trained;
            private ClientState state;
            private UpdateAttachment attachment = signed -> null;
            private ModelCache models;

            private Builder() {
            }

            /**
             * Where the agent keeps the global models it verified (default: its own cache of one model, so a task for
             * the model it last verified comes without the model's bytes). {@code ModelCache.holding(0)} downloads
             * every task's model; one cache may be shared by the agents of a host.
             */
            public Builder modelCache(ModelCache models) {
                this.models = Objects.requireNonNull(models, "models");
                return this;
            }

            /**
             * Adds an aggregator's partial aggregate to each update's trailer (docs/AGGREGATOR.md): called with the
             * update statement just signed, it returns the partial aggregate with the aggregator's signature over its
             * statement, or null to send a plain update.
             */
            public Builder attach(UpdateAttachment attachment) {
                this.attachment = Objects.requireNonNull(attachment, "attachment");
                return this;
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

    /**
     * What happened over the agent's life. {@code trainingFailures}: rounds whose fit failed (nothing was sent for
     * them); the agent stops after {@link Settings#maxConsecutiveRefusals()} in a row.
     */
    public record Summary(int roundsTrained, int updatesAccepted, int updatesRejected, int modelsRefused,
                          int trainingFailures, boolean finished) {
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

    /**
     * Per-round measurements, for the simulation harness. In a round with secure aggregation, {@code signNanos} is the
     * client's whole protocol computation (keys, shares, masking, reveal and their signatures, not the waits) and
     * {@code updateBytes} every byte of its protocol messages (advertisement, shares, masked input, reveal).
     */
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

    private final RoundLoop loop;

    /** An agent without hooks: see {@link #ClientAgent(Channel, Settings, Hooks, Trainer, Progress)}. */
    public ClientAgent(Channel channel, Settings settings, Trainer trainer, Progress progress) {
        this(channel, settings, Hooks.none(), trainer, progress);
    }

    /**
     * @param channel to the coordinator; the agent does not close it
     * @param trainer trains each round's update; the agent refuses tasks whose model is not
     *     {@link Trainer#manifest()}, uses it from its own thread only, and does not close it
     */
    public ClientAgent(Channel channel, Settings settings, Hooks hooks, Trainer trainer, Progress progress) {
        this.loop = new RoundLoop(Objects.requireNonNull(channel, "channel"), Objects.requireNonNull(settings, "settings"),
                Objects.requireNonNull(hooks, "hooks"), Objects.requireNonNull(trainer, "trainer"),
                Objects.requireNonNull(progress, "progress"));
    }

    /** Asks the loop to end at the next opportunity (e.g. from a SIGTERM hook). */
    public void stop() {
        loop.stop();
    }

    /** Runs until the federation finishes, {@link #stop()} is called, or the coordinator keeps sending bad models. */
    public Summary run() throws InterruptedException {
        return loop.run();
    }
}
