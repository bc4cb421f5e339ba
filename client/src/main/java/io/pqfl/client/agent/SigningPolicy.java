package io.pqfl.client.agent;

/** Whether the agent signs its updates. */
public enum SigningPolicy {
    /** Every update carries the client's signature over its update statement: the protocol. */
    SIGNED,
    /**
     * Updates go without a signature, to a coordinator that does not require one: only for the research
     * baseline that measures what signing costs. The agent still proves possession of its key at Hello, and its
     * updates still name the enrolled key, by which the coordinator admits them.
     */
    UNSIGNED_BASELINE
}
