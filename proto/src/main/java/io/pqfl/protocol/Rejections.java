package io.pqfl.protocol;

/** How a coordinator tells a client why its update was refused (docs/PROTOCOL.md, "Service"). */
public final class Rejections {
    /** Trailer key carrying the reject reason's name, e.g. {@code NONCE_MISMATCH}. */
    public static final String REASON_TRAILER = "pqfl-reject-reason";
    /**
     * With {@code DUPLICATE}: the ledger sequence number of the update the coordinator already accepted from this
     * client for the round (decimal). Sent only to the client whose update it is, so a client whose earlier upload
     * was accepted but whose answer was lost learns that it was (docs/PROTOCOL.md, "Retries").
     */
    public static final String ACCEPTED_SEQ_TRAILER = "pqfl-accepted-ledger-seq";
    /** With {@code DUPLICATE}: the payload digest (lower-case hex) of that accepted update, to compare with one's own. */
    public static final String ACCEPTED_DIGEST_TRAILER = "pqfl-accepted-update-digest";

    private Rejections() {
    }
}
