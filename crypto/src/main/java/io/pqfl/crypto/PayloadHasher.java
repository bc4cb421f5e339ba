package io.pqfl.crypto;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;

/**
 * Digests a payload in one streaming pass as its chunks arrive, with no copy of the data. Not thread-safe;
 * one hasher per payload. {@link #finish()} may be called once.
 */
public final class PayloadHasher {
    private final MessageDigest digest;
    private long bytes;
    private boolean finished;

    public PayloadHasher() {
        try {
            // The JDK's own provider: its SHA-512 uses the CPU's SHA/AVX2 intrinsics where present.
            this.digest = MessageDigest.getInstance("SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-512", e);
        }
    }

    public PayloadHasher update(byte[] chunk) {
        return update(chunk, 0, chunk.length);
    }

    public PayloadHasher update(byte[] chunk, int offset, int length) {
        Objects.requireNonNull(chunk, "chunk");
        checkOpen();
        digest.update(chunk, offset, length);
        bytes += length;
        return this;
    }

    /** Consumes the buffer's remaining bytes (works on direct buffers, e.g. from gRPC, without a copy). */
    public PayloadHasher update(ByteBuffer chunk) {
        Objects.requireNonNull(chunk, "chunk");
        checkOpen();
        bytes += chunk.remaining();
        digest.update(chunk);
        return this;
    }

    /** Number of bytes digested so far. */
    public long byteCount() {
        return bytes;
    }

    public PayloadDigest finish() {
        checkOpen();
        finished = true;
        return PayloadDigest.ofBytes(digest.digest());
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("hasher already finished");
        }
    }
}
