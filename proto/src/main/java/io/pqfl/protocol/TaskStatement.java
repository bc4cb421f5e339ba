package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.util.Objects;

/**
 * What the coordinator signs for each client's task in a round (docs/PROTOCOL.md, "Task statement"): what the
 * task asks ({@link TaskKind}: train, or evaluate), the round and its nonce, the client, the global model (its
 * round and digest), the training configuration and the deadline. A client verifies it with the pinned
 * coordinator key before it acts, so an on-path attacker can neither change the configuration, serve an older
 * signed model as the round's model, nor turn an evaluation into training or back.
 *
 * <p>A {@link TaskKind#TRAIN} task's model comes from an earlier round ({@code modelRound < round}); an
 * {@link TaskKind#EVALUATE} task evaluates the model its own round produced ({@code modelRound == round}), and its
 * training configuration is carried (signed) but not used.
 */
public record TaskStatement(String federationId, TaskKind kind, long round, RoundNonce nonce, ClientId clientId,
                            long modelRound, PayloadDigest modelDigest, TrainingConfig config, long deadlineUnixMs,
                            SignatureScheme scheme, KeyId coordinatorKeyId) {
    public static final String TAG = "pqfl.task-statement";
    /** Version 2 added the task kind; version 1 statements are refused. */
    public static final int VERSION = 2;

    /** A {@link TaskKind#TRAIN} task. */
    public TaskStatement(String federationId, long round, RoundNonce nonce, ClientId clientId, long modelRound,
                         PayloadDigest modelDigest, TrainingConfig config, long deadlineUnixMs, SignatureScheme scheme,
                         KeyId coordinatorKeyId) {
        this(federationId, TaskKind.TRAIN, round, nonce, clientId, modelRound, modelDigest, config, deadlineUnixMs, scheme,
                coordinatorKeyId);
    }

    public TaskStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(modelDigest, "modelDigest");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(coordinatorKeyId, "coordinatorKeyId");
        if (round < 1) {
            throw new IllegalArgumentException("task rounds start at 1, got " + round);
        }
        switch (kind) {
            case TRAIN -> {
                if (modelRound < 0 || modelRound >= round) {
                    throw new IllegalArgumentException("the model of round " + round
                            + "'s training task comes from an earlier round, got " + modelRound);
                }
            }
            case EVALUATE -> {
                if (modelRound != round) {
                    throw new IllegalArgumentException("an evaluation task for round " + round
                            + " evaluates that round's model, got the model of round " + modelRound);
                }
            }
        }
        if (deadlineUnixMs < 0) {
            throw new IllegalArgumentException("deadline must not be negative");
        }
    }

    /**
     * Checks that the coordinator's {@code signature} over this statement verifies with the pinned key.
     *
     * @throws ModelRejectedException when it does not: the task was altered, forged or is unsigned
     */
    public void verify(VerifyingKey pinnedCoordinatorKey, byte[] signature) throws ModelRejectedException {
        if (signature == null || signature.length == 0) {
            throw new ModelRejectedException("the " + kind + " task for round " + round + " is not signed");
        }
        try {
            Verifier.create(pinnedCoordinatorKey).verify(encode(), SignatureValue.of(pinnedCoordinatorKey.scheme(), signature));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new ModelRejectedException("the task for round " + round
                    + " does not verify with the pinned coordinator key (altered or forged): " + e.getMessage(), e);
        }
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static TaskStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        String federation = r.string();
        TaskKind kind = TaskKind.ofCode(r.u8());
        long round = r.u64();
        RoundNonce nonce = RoundNonce.of(r.bytes());
        ClientId client = new ClientId(r.string());
        long modelRound = r.u64();
        PayloadDigest digest = PayloadDigest.ofBytes(r.bytes());
        TrainingConfig config = new TrainingConfig(positiveInt(r.u32(), "local_epochs"), positiveInt(r.u32(), "batch_size"),
                Float.intBitsToFloat((int) r.u32()), Float.intBitsToFloat((int) r.u32()), r.string());
        TaskStatement s = new TaskStatement(federation, kind, round, nonce, client, modelRound, digest, config, r.u64(),
                SignatureScheme.parse(r.string()), new KeyId(r.string()));
        r.end();
        return s;
    }

    private static int positiveInt(long v, String field) {
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(field + " " + v + " is too large");
        }
        return (int) v;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        return new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(federationId)
                .u8(kind.code())
                .u64(round)
                .bytes(nonce.bytes())
                .string(clientId.value())
                .u64(modelRound)
                .bytes(modelDigest.bytes())
                .u32(config.localEpochs())
                .u32(config.batchSize())
                .u32(Integer.toUnsignedLong(Float.floatToIntBits(config.learningRate())))
                .u32(Integer.toUnsignedLong(Float.floatToIntBits(config.proximalMu())))
                .string(config.optimizer())
                .u64(deadlineUnixMs)
                .string(scheme.displayName())
                .string(coordinatorKeyId.hex())
                .toByteArray();
    }
}
