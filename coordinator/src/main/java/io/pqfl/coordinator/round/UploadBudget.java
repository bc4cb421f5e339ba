package io.pqfl.coordinator.round;

/**
 * Bounds the uploads in progress: how many at once, and how many bytes of decoded tensors they may hold
 * together. A slot is reserved for the model's full size when an authenticated, sampled client's header
 * passes its checks, and released on every path out of the upload (accepted, rejected, aborted, cut off).
 * When the budget is spent, the next upload is refused with BUSY and the client retries later; nothing waits
 * inside the coordinator. One upload is always allowed, whatever its size.
 */
final class UploadBudget {
    private final int maxUploads;
    private final long maxBytes;
    private int uploads;
    private long bytes;

    UploadBudget(int maxUploads, long maxBytes) {
        if (maxUploads < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("upload budget must be positive: " + maxUploads + " uploads, " + maxBytes + " bytes");
        }
        this.maxUploads = maxUploads;
        this.maxBytes = maxBytes;
    }

    synchronized boolean tryReserve(long n) {
        if (uploads >= maxUploads || (uploads > 0 && bytes + n > maxBytes)) {
            return false;
        }
        uploads++;
        bytes += n;
        return true;
    }

    synchronized void release(long n) {
        uploads--;
        bytes -= n;
        if (uploads < 0 || bytes < 0) {
            throw new IllegalStateException("upload budget released more than it reserved");
        }
    }

    synchronized int uploads() {
        return uploads;
    }

    synchronized long bytes() {
        return bytes;
    }

    String describe() {
        return maxUploads + " uploads / " + (maxBytes >> 20) + " MiB of tensors";
    }
}
