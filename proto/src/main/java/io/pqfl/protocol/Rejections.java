package io.pqfl.protocol;

/** How a coordinator tells a client why its update was refused (docs/PROTOCOL.md, "Service"). */
public final class Rejections {
    /** Trailer key carrying the reject reason's name, e.g. {@code NONCE_MISMATCH}. */
    public static final String REASON_TRAILER = "pqfl-reject-reason";

    private Rejections() {
    }
}
