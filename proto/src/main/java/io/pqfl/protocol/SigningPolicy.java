package io.pqfl.protocol;

/**
 * Whether a federation's updates are signed: one value, set the same on the coordinator and on its clients. The
 * two sides must agree; a coordinator refuses an update made under the other policy (docs/PROTOCOL.md, "The
 * unsigned baseline").
 */
public enum SigningPolicy {
    /**
     * The protocol: every update header announces the key and scheme it is signed with, and its trailer carries the
     * client's signature over the update statement, which the coordinator verifies.
     */
    SIGNED,
    /**
     * The research baseline that measures what signing costs, never a real federation: a client sends its updates
     * without a signature and announces no key or scheme in their headers; the coordinator checks everything but
     * the signature. The client still proves possession of its enrolled key at Hello, and the coordinator
     * attributes each update to the key of the session that sent it.
     */
    UNSIGNED_BASELINE
}
