package io.pqfl.coordinator.round;

/**
 * Bounds the uploads in progress: how many at once, and how many bytes of decoded tensors they may hold
 * together. A slot is reserved for what one upload can hold (its model's size and half again: the most a
 * {@code WeightsReceiver} holds is a large tensor's array while its staged first part is copied in, an eighth of it
 * for {@code WeightsReceiver.reserved}, which uploads use) when an authenticated, sampled client's header passes its
 * checks, and released on every path
 * out of the upload (accepted, rejected, aborted, cut off, superseded). When the budget is spent, the next
 * upload is refused with BUSY and the client retries later; nothing waits inside the coordinator. One upload
 * is always allowed, unless the round's aggregation holds its accepted updates ({@code held}: a median, trimmed mean
 * or Krum keeps every update until the round closes) and they leave no room for it.
 */
final class UploadBudget {
    /** What the coordinator keeps besides uploads: the global model, its cached chunks, the running aggregate. */
    static final int BASELINE_MODELS = 3;
    /** Headroom for everything else in the heap (gRPC, the database, metrics). */
    static final long OVERHEAD_BYTES = 64L << 20;

    private final int maxUploads;
    private final long maxBytes;
    private final long perUpload;
    private int uploads;
    private long bytes;

    UploadBudget(int maxUploads, long maxBytes, long perUpload) {
        if (maxUploads < 1 || maxBytes < 1 || perUpload < 1) {
            throw new IllegalArgumentException("upload budget must be positive: " + maxUploads + " uploads, " + maxBytes
                    + " bytes, " + perUpload + " per upload");
        }
        this.maxUploads = maxUploads;
        this.maxBytes = maxBytes;
        this.perUpload = perUpload;
    }

    /**
     * The budget for a model of {@code modelBytes} in a heap of {@code maxHeap}: {@code configuredBytes} when set
     * (above 0), else what the heap leaves beside the baseline. Refuses a heap that cannot hold the baseline and
     * one upload, saying how much it needs, rather than failing every upload with an out-of-memory error later.
     */
    static UploadBudget forModel(int maxUploads, long configuredBytes, long modelBytes, long maxHeap) {
        return forModel(maxUploads, configuredBytes, modelBytes, maxHeap, 0, null);
    }

    /**
     * {@link #forModel(int, long, long, long)} for a strategy that holds {@code heldUpdates} updates before a round can
     * aggregate (its minimum, when it holds every update; 0 when it folds them): refused when the budget cannot take
     * that many (the last of them uploads beside the others held), since then no round could ever aggregate.
     * {@code strategy} names it in the message.
     */
    static UploadBudget forModel(int maxUploads, long configuredBytes, long modelBytes, long maxHeap, int heldUpdates,
                                 String strategy) {
        long perUpload = modelBytes + modelBytes / 2;
        long needed = BASELINE_MODELS * modelBytes + perUpload + OVERHEAD_BYTES;
        if (maxHeap < needed) {
            throw new IllegalStateException("the heap (" + (maxHeap >> 20) + " MiB) is too small for this model of "
                    + (modelBytes >> 20) + " MiB: the coordinator needs about " + (needed >> 20) + " MiB (the model "
                    + (BASELINE_MODELS + 1.5) + " times, and 64 MiB); raise -Xmx (PQFL_JAVA_OPTS for ./pqfl)");
        }
        long fits = Math.max(perUpload, maxHeap - needed + perUpload);
        if (configuredBytes > fits) {
            // An upload holds up to eight times what it was sent: a budget beyond the heap is an out-of-memory error
            // that any few sampled clients could cause by starting uploads.
            throw new IllegalStateException("the upload memory budget (--upload-memory-mib) of " + (configuredBytes >> 20)
                    + " MiB is more than the heap leaves for uploads: " + (fits >> 20) + " MiB of " + (maxHeap >> 20)
                    + " MiB, beside the model " + BASELINE_MODELS + " times and 64 MiB; lower it, or raise -Xmx "
                    + "(PQFL_JAVA_OPTS for ./pqfl)");
        }
        long bytes = configuredBytes > 0 ? configuredBytes : fits;
        if (heldUpdates > 0 && (heldUpdates - 1L) * modelBytes + perUpload > bytes) {
            throw new IllegalStateException(strategy + " keeps every update of a round until it closes: the "
                    + heldUpdates + " updates a round needs (the last uploaded beside the others, "
                    + size((heldUpdates - 1L) * modelBytes + perUpload) + ") do not fit the upload memory budget of "
                    + size(bytes) + ", so no round could aggregate; raise -Xmx (PQFL_JAVA_OPTS for ./pqfl)"
                    + (configuredBytes > 0 ? " and --upload-memory-mib" : "") + ", or lower --min-clients");
        }
        return new UploadBudget(maxUploads, bytes, perUpload);
    }

    /**
     * How many updates of {@code modelBytes} a round that holds every update can take: uploads start while the held
     * ones leave room for one, and the last to start is then held too.
     */
    int updatesFitting(long modelBytes) {
        if (modelBytes <= 0) {
            return Integer.MAX_VALUE;
        }
        return (int) Math.min(Integer.MAX_VALUE - 1L, Math.max(0, maxBytes - perUpload) / modelBytes) + 1;
    }

    /** {@code bytes} for a message: in MiB, or KiB (or bytes) when smaller, never "0 MiB". */
    static String size(long bytes) {
        if (bytes >= 1L << 20) {
            return (bytes >> 20) + " MiB";
        }
        return bytes >= 1L << 10 ? (bytes >> 10) + " KiB" : bytes + " bytes";
    }

    /** The most bytes uploads and the round's held updates may take together. */
    long maxBytes() {
        return maxBytes;
    }

    /** What one upload reserves. */
    long perUpload() {
        return perUpload;
    }

    synchronized boolean tryReserve(long n) {
        return tryReserve(n, 0);
    }

    /**
     * Reserves {@code n} for an upload beside {@code held} bytes the open round's aggregation holds: refused when the
     * upload slots are taken, or the bytes would pass the budget (allowed anyway when it is the only upload and the
     * round holds nothing, so a budget below one upload still lets uploads through one at a time).
     */
    synchronized boolean tryReserve(long n, long held) {
        if (uploads >= maxUploads || ((uploads > 0 || held > 0) && bytes + held + n > maxBytes)) {
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
        return "at most " + Math.min(maxUploads, Math.max(1, maxBytes / perUpload)) + " uploads at once (" + maxUploads
                + " slots, " + size(maxBytes) + " of tensors, " + size(perUpload) + " each)";
    }
}
