package io.pqfl.client.agent;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelWeights;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Global models a client holds after verifying them, by payload digest, so that a task for a model it already holds
 * comes without the model's bytes: each task request names the newest held model
 * ({@code TaskRequest.held_model_digest}), and when the task's model is that one the coordinator streams only the
 * header and the model's signature ({@code TaskHeader.model_omitted}). Nothing is trusted for being held: the task
 * and model statements the coordinator signs bind the model's digest, and they are checked against the held copy's
 * digest exactly as they would be against downloaded bytes. A client that evaluated round r's model and is then
 * sampled to train from it in round r + 1 downloads it once.
 *
 * <p>Thread-safe: one cache may serve many agents of one host (the simulation's virtual clients share one, so a
 * round's model crosses the loopback once, not once per client). It keeps private copies: what a trainer does to the
 * weights it is handed never reaches the cache. The least recently used model leaves first.
 */
public final class ModelCache {
    private final int capacity;
    private final Map<PayloadDigest, ModelWeights> models = new LinkedHashMap<>(4, 0.75f, true);
    private PayloadDigest newest;

    private ModelCache(int capacity) {
        this.capacity = capacity;
    }

    /** Holds up to {@code models} verified models (0: none, every task downloads its model). */
    public static ModelCache holding(int models) {
        if (models < 0) {
            throw new IllegalArgumentException("a model cache holds 0 or more models, not " + models);
        }
        return new ModelCache(models);
    }

    /** A held model as a task request names it: its digest and the (never modified) copy held for it. */
    record Held(PayloadDigest digest, ModelWeights weights) {
        /** A copy for one task: the trainer may do what it likes with it. */
        ModelWeights copy() {
            return weights.copy();
        }
    }

    /** The model verified most recently, to name in a task request; null when none is held. */
    synchronized Held newest() {
        ModelWeights w = newest == null ? null : models.get(newest);
        return w == null ? null : new Held(newest, w);
    }

    /** Keeps a copy of {@code verified}, whose digest is {@code digest}, as the newest held model. */
    void put(PayloadDigest digest, ModelWeights verified) {
        if (capacity == 0) {
            return;
        }
        synchronized (this) {
            if (models.containsKey(digest)) {
                newest = digest;
                return;
            }
        }
        ModelWeights copy = verified.copy(); // outside the lock: copying a large model takes a while
        synchronized (this) {
            models.put(digest, copy);
            newest = digest;
            var eldest = models.keySet().iterator();
            while (models.size() > capacity) {
                eldest.next();
                eldest.remove();
            }
        }
    }

    /** Models held now. */
    public synchronized int size() {
        return models.size();
    }
}
