package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelCacheTest {
    static final ModelCache.Scope S = new ModelCache.Scope(new io.pqfl.crypto.KeyId("00".repeat(16)), "f");
    static final ModelManifest M = new ModelManifest("m", List.of(TensorSpec.of("w", 3)));

    static ModelWeights model(float v) {
        return ModelWeights.of(M, new float[][] {{v, v, v}});
    }

    @Test
    void whatATrainerDoesToTheWeightsItIsGiven_neverReachesTheCache() {
        ModelCache cache = ModelCache.holding(1);
        ModelWeights verified = model(1);
        cache.put(S, verified.digest(), 1, verified);
        verified.tensor(0)[0] = 99; // the caller's copy, changed after it was cached

        ModelCache.Held held = cache.newest(S);
        ModelWeights handed = held.weights().copy();
        assertThat(handed.tensor(0)).containsExactly(1, 1, 1);
        handed.tensor(0)[1] = 42; // a trainer training in place
        assertThat(held.weights().copy().tensor(0)).containsExactly(1, 1, 1);
        assertThat(held.weights().copy().digest()).isEqualTo(held.digest());
    }

    @Test
    void theNewestVerifiedModelIsNamed_andTheLeastRecentlyUsedLeavesFirst() {
        ModelCache cache = ModelCache.holding(2);
        assertThat(cache.newest(S)).isNull();
        ModelWeights a = model(1);
        ModelWeights b = model(2);
        ModelWeights c = model(3);
        cache.put(S, a.digest(), 1, a);
        cache.put(S, b.digest(), 1, b);
        assertThat(cache.newest(S).digest()).isEqualTo(b.digest());
        cache.put(S, a.digest(), 1, a); // verified again: the newest once more, not copied twice
        assertThat(cache.newest(S).digest()).isEqualTo(a.digest());
        assertThat(cache.size()).isEqualTo(2);
        cache.put(S, c.digest(), 1, c); // b was used least recently: a was verified again after it
        assertThat(cache.size()).isEqualTo(2);
        assertThat(cache.newest(S).digest()).isEqualTo(c.digest());
        cache.put(S, b.digest(), 1, b);
        assertThat(cache.newest(S).weights().copy().tensor(0)).containsExactly(2, 2, 2);
    }

    @Test
    void aCacheOfNoModels_holdsNothing_andANegativeSizeIsRefused() {
        ModelCache none = ModelCache.holding(0);
        ModelWeights a = model(1);
        none.put(S, a.digest(), 1, a);
        assertThat(none.newest(S)).isNull();
        assertThat(none.size()).isZero();
        assertThatThrownBy(() -> ModelCache.holding(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }

    /** A model verified again becomes the newest, and must then not be the first to leave. */
    @Test
    void aModelVerifiedAgain_isNotTheNextEvicted() {
        ModelCache cache = ModelCache.holding(2);
        ModelWeights a = model(1);
        ModelWeights b = model(2);
        cache.put(S, a.digest(), 1, a);
        cache.put(S, b.digest(), 1, b);
        cache.put(S, a.digest(), 1, a); // verified again (the containsKey branch): now the most recently used
        cache.put(S, model(3).digest(), 1, model(3)); // must evict b, not a
        // Still held, a's digest keeps its first copy; evicted, this put would store the (different) weights given.
        cache.put(S, a.digest(), 1, model(9));
        assertThat(cache.newest(S).weights().copy().tensor(0)).as("a was evicted although it was used after b")
                .containsExactly(1, 1, 1);
    }

    /** Agents verifying models at once may store them in any order: an older round's model does not displace a newer. */
    @Test
    void theNamedModelIsTheNewestRoundsStillHeld_whateverOrderTheyWereStoredIn() {
        ModelCache cache = ModelCache.holding(2);
        ModelWeights round2 = model(2);
        ModelWeights round1 = model(1);
        cache.put(S, round2.digest(), 2, round2);
        cache.put(S, round1.digest(), 1, round1); // stored last, verified from an older round
        assertThat(cache.newest(S).digest()).isEqualTo(round2.digest());
        assertThat(cache.size()).isEqualTo(2);

        ModelCache one = ModelCache.holding(1);
        one.put(S, round2.digest(), 2, round2);
        one.put(S, round1.digest(), 1, round1); // round 2's model left the cache: the one held is named
        assertThat(one.newest(S).digest()).isEqualTo(round1.digest());
    }
}
