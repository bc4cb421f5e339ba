package io.pqfl.coordinator.round;

import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.UpdateHeader;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WeightsReceiver;
import java.nio.ByteBuffer;

/**
 * One client's update stream in progress: its bytes are digested and decoded as they arrive; at the end the
 * signature is verified outside every lock, and the engine records the update if the round still wants it.
 * Not thread-safe (gRPC delivers one message at a time). Every way out ({@link #finish}, {@link #abort}, being
 * superseded) frees its slot of the upload budget, once.
 */
public final class Upload {
    final long id;
    final UpdateHeader header;
    final VerifyingKey key;
    final long reserved;
    final Runnable cancelStream;
    private final Uploads engine;
    /** Dropped when the upload ends, so a stream the client keeps open holds no tensor memory. */
    private WeightsReceiver receiver;
    private boolean done;
    /** Guarded by the engine's lock: the slot is released once. */
    boolean slotHeld = true;

    /** The digest the coordinator computed over the update's bytes, once {@link #finish} accepted it; else null. */
    private volatile PayloadDigest accepted;

    /** The digest the coordinator computed over the accepted update's bytes (null before it was accepted). */
    public PayloadDigest acceptedDigest() {
        return accepted;
    }

    /** The update's advisory metrics (validated), or null when it sent none or invalid ones. */
    volatile io.pqfl.protocol.ReportedMetrics reported;

    Upload(Uploads engine, long id, UpdateHeader header, VerifyingKey key, long reserved,
           Runnable cancelStream) {
        this.engine = engine;
        this.id = id;
        this.header = header;
        this.key = key;
        this.reserved = reserved;
        this.cancelStream = cancelStream;
        // The budget reserved a model and a half for this upload: a large tensor's array is allocated once an eighth
        // of it has arrived (half, without a reservation), so less is staged and copied.
        this.receiver = WeightsReceiver.reserved(header.manifest());
    }

    public void chunk(ByteBuffer bytes) throws RefusedException {
        if (done) {
            throw new RefusedException(RejectReason.INCOMPLETE, "the upload has ended");
        }
        int n = bytes.remaining();
        try {
            receiver.accept(bytes);
        } catch (WeightsReceiver.OverflowException e) {
            throw abort(new RefusedException(RejectReason.TOO_LARGE, e.getMessage()));
        }
        engine.bytesReceived(n);
    }

    /** Ends the upload with the client's signature: verifies and, if all is well, the engine records it. */
    public long finish(byte[] signatureBytes) throws RefusedException {
        return finish(signatureBytes, null);
    }

    /**
     * Ends the upload with the client's signature and, from an aggregator, its partial aggregate (null for a plain
     * update): the update is verified, then the partial aggregate's receipt and signature; only if both pass is the
     * update recorded, with its partial aggregate in the ledger.
     */
    public long finish(byte[] signatureBytes, io.pqfl.proto.v1.PartialAggregate partialAggregate) throws RefusedException {
        if (done) {
            throw new RefusedException(RejectReason.INCOMPLETE, "the upload has ended");
        }
        PayloadDigest digest = receiver.digest();
        ModelWeights weights = receiver.isComplete() ? receiver.weights() : null;
        long received = receiver.receivedBytes();
        SignatureValue signature = SignatureValue.of(header.scheme(), signatureBytes);
        VerifiedUpdate update;
        long verifyStart = System.nanoTime();
        try {
            update = engine.verify(header, key, receiver, signature);
        } catch (RefusedException e) {
            UpdateStatement attempted = weights == null ? null : header.statement(digest);
            throw end(e, attempted, signatureBytes);
        }
        PartialAggregateStatement partial = null;
        if (partialAggregate != null) {
            try {
                partial = engine.verifyPartial(update, key, partialAggregate);
            } catch (RefusedException e) {
                throw end(e, update.statement(), signatureBytes);
            }
        }
        long verifyNanos = System.nanoTime() - verifyStart;
        done = true;
        receiver = null;
        long seq = engine.record(this, update, partial, partialAggregate == null ? null
                : partialAggregate.getSignature().toByteArray(), verifyNanos, received + signatureBytes.length);
        accepted = digest;
        return seq;
    }

    /** Abandons the upload (the client went away, broke the stream, stalled, or was superseded). */
    public RefusedException abort(RefusedException e) {
        return end(e, null, null);
    }

    private RefusedException end(RefusedException e, UpdateStatement attempted, byte[] signature) {
        if (!done) {
            done = true;
            receiver = null;
            engine.ended(this, e, attempted, signature);
        }
        return e;
    }
}
