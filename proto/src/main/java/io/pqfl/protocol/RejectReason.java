package io.pqfl.protocol;

import java.util.Optional;

/**
 * Why a coordinator refused a call: part of the protocol. The reason's name travels to the client in the
 * trailer {@value Rejections#REASON_TRAILER} and starts the status description ({@code NONCE_MISMATCH: ...});
 * the coordinator maps each reason to one gRPC status code in one place (its server's {@code Statuses}), so
 * this type carries no transport type.
 */
public enum RejectReason {
    UNKNOWN_CLIENT,
    REVOKED_KEY,
    KEY_MISMATCH,
    SCHEME_NOT_ACCEPTED,
    WRONG_FEDERATION,
    NO_OPEN_ROUND,
    STALE_ROUND,
    NOT_SAMPLED,
    NONCE_MISMATCH,
    BASE_MODEL_MISMATCH,
    DUPLICATE,
    /** The update's manifest (tensor names, shapes, dtypes, architecture label) is not the round's. */
    MANIFEST_MISMATCH,
    TOO_LARGE,
    INCOMPLETE,
    MALFORMED,
    NON_FINITE,
    BAD_EXAMPLE_COUNT,
    BAD_SIGNATURE,
    /**
     * An aggregator's partial aggregate whose receipt does not account for it: the example counts do not add up to
     * the update's, an entry is not an update its client signed for the aggregator's round on the round's model, or
     * names a client the coordinator has no key for (docs/AGGREGATOR.md).
     */
    BAD_RECEIPT,
    /** A certificate not issued by the federation CA, for another name or role, or none accepted here. */
    CERTIFICATE_INVALID,
    CERTIFICATE_EXPIRED,
    CERTIFICATE_REVOKED,
    /** An enrollment token this coordinator never issued, or issued for another client id. */
    TOKEN_INVALID,
    TOKEN_USED,
    TOKEN_EXPIRED,
    /** No pending challenge for this client and key, or the proof of possession does not verify. */
    ENROLLMENT_INVALID,
    ALREADY_ENROLLED,
    /** A Hello's challenge was not issued by this coordinator for this client, expired, or was used before. */
    CHALLENGE_INVALID,
    /** A Hello's signature over the session statement does not verify with the client's key. */
    PROOF_INVALID,
    /** A call that needs a session came without a valid one (none, unknown, or expired): say Hello again. */
    SESSION_INVALID,
    /** A call names another client or key than its session's, or its mutual-TLS certificate names another client. */
    SESSION_MISMATCH,
    /** A certificate older than the one already admitted for this client. */
    CERTIFICATE_SUPERSEDED,
    /** Too many uploads in progress (the coordinator's upload slots or memory budget are taken): retry later. */
    BUSY,
    /** Too many calls from one address. */
    RATE_LIMITED,
    /** The client had too many updates refused in this round; it may try again in the next. */
    REJECTION_LIMIT,
    /** The round runs secure aggregation: a plain update is refused (the masked input goes through SubmitMaskedInput). */
    SECURE_AGGREGATION_REQUIRED,
    /** A secure-aggregation message when the coordinator runs none, or in a phase that is not open (too early or late). */
    SECAGG_PHASE,
    /** A secure-aggregation message whose content breaks the protocol (wrong neighbours, lengths, shares). */
    SECAGG_INVALID;

    /**
     * The reason a trailer names, or empty when there is none or it is not one this version knows (a newer
     * coordinator may send reasons an older client has never heard of).
     */
    public static Optional<RejectReason> fromTrailer(String name) {
        if (name == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(valueOf(name));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The coordinator asks the client to come back later (its limits, not the update, were the problem). */
    public boolean retryLater() {
        return this == BUSY || this == RATE_LIMITED;
    }
}
