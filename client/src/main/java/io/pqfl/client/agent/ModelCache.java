package io.pqfl.client.agent;

import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelWeights;
import java.util.HashMap;
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
 * round's model crosses the loopback once, not once per client). Models are kept per {@link Scope} — the pinned
 * coordinator key that verified them and the federation — and an agent names and uses only those of its own scope:
 * agents of other federations sharing the cache neither reveal a model's digest to their coordinators nor can be
 * made to train on it. It keeps private copies: what a trainer does to the weights it is handed never reaches the
 * cache. The least recently used model leaves first.
 */
public final class ModelCache {
    private final int capacity;
    private final Map<Key, ModelWeights> models = new LinkedHashMap<>(4, 0.75f, true);
    private final Map<Scope, Newest> newest = new HashMap<>();

    /**
     * Whose models: the pinned coordinator key that verified them and the federation. An agent names only a model of
     * its own scope, so agents of other federations (or pinning other keys) sharing the cache never learn of it, and
     * their coordinators cannot have them train on it.
     */
    record Scope(KeyId coordinatorKey, String federationId) {
    }

    private record Key(Scope scope, PayloadDigest digest) {
    }

    /** The model a scope's agents name: the one of the highest model round verified (not the last to be stored). */
    private record Newest(PayloadDigest digest, long modelRound) {
    }

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

    /**
     * A held model as a task request names it: its digest and the copy held for it, never modified (an agent trains on
     * a copy of its own, {@code Task.withOwnModel}).
     */
    record Held(PayloadDigest digest, ModelWeights weights) {
    }

    /** The newest model of {@code scope}, to name in a task request; null when none is held. */
    synchronized Held newest(Scope scope) {
        Newest n = newest.get(scope);
        ModelWeights w = n == null ? null : models.get(new Key(scope, n.digest()));
        return w == null ? null : new Held(n.digest(), w);
    }

    /**
     * Keeps a copy of {@code verified}, whose digest is {@code digest} and whose signed model round is
     * {@code modelRound}; it becomes the model {@code scope}'s agents name unless a newer round's model already is
     * (agents verifying models at once may store them in any order).
     */
    void put(Scope scope, PayloadDigest digest, long modelRound, ModelWeights verified) {
        if (capacity == 0) {
            return;
        }
        Key key = new Key(scope, digest);
        synchronized (this) {
            if (models.get(key) != null) { // get, not containsKey: it is the most recently used now
                name(scope, digest, modelRound);
                return;
            }
        }
        ModelWeights copy = verified.copy(); // outside the lock: copying a large model takes a while
        synchronized (this) {
            models.put(key, copy);
            var eldest = models.keySet().iterator();
            while (models.size() > capacity) {
                eldest.next();
                eldest.remove();
            }
            name(scope, digest, modelRound);
        }
    }

    /** Under this object's lock: {@code digest} becomes the named model unless a newer round's model, still held, is. */
    private void name(Scope scope, PayloadDigest digest, long modelRound) {
        Newest now = newest.get(scope);
        if (now == null || modelRound >= now.modelRound() || models.get(new Key(scope, now.digest())) == null) {
            newest.put(scope, new Newest(digest, modelRound));
        }
    }

    /** Models held now. */
    public synchronized int size() {
        return models.size();
    }
}
