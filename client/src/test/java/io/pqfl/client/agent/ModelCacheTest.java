package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelCacheTest {
    static final ModelManifest M = new ModelManifest("m", List.of(TensorSpec.of("w", 3)));

    static ModelWeights model(float v) {
        return ModelWeights.of(M, new float[][] {{v, v, v}});
    }

    @Test
    void whatATrainerDoesToTheWeightsItIsGiven_neverReachesTheCache() {
        ModelCache cache = ModelCache.holding(1);
        ModelWeights verified = model(1);
        cache.put(verified.digest(), verified);
        verified.tensor(0)[0] = 99; // the caller's copy, changed after it was cached

        ModelCache.Held held = cache.newest();
        ModelWeights handed = held.copy();
        assertThat(handed.tensor(0)).containsExactly(1, 1, 1);
        handed.tensor(0)[1] = 42; // a trainer training in place
        assertThat(held.copy().tensor(0)).containsExactly(1, 1, 1);
        assertThat(held.copy().digest()).isEqualTo(held.digest());
    }

    @Test
    void theNewestVerifiedModelIsNamed_andTheLeastRecentlyUsedLeavesFirst() {
        ModelCache cache = ModelCache.holding(2);
        assertThat(cache.newest()).isNull();
        ModelWeights a = model(1);
        ModelWeights b = model(2);
        ModelWeights c = model(3);
        cache.put(a.digest(), a);
        cache.put(b.digest(), b);
        assertThat(cache.newest().digest()).isEqualTo(b.digest());
        cache.put(a.digest(), a); // verified again: the newest once more, not copied twice
        assertThat(cache.newest().digest()).isEqualTo(a.digest());
        assertThat(cache.size()).isEqualTo(2);
        cache.put(c.digest(), c); // b was used least recently
        assertThat(cache.size()).isEqualTo(2);
        assertThat(cache.newest().digest()).isEqualTo(c.digest());
        cache.put(b.digest(), b);
        assertThat(cache.newest().copy().tensor(0)).containsExactly(2, 2, 2);
    }

    @Test
    void aCacheOfNoModels_holdsNothing_andANegativeSizeIsRefused() {
        ModelCache none = ModelCache.holding(0);
        ModelWeights a = model(1);
        none.put(a.digest(), a);
        assertThat(none.newest()).isNull();
        assertThat(none.size()).isZero();
        assertThatThrownBy(() -> ModelCache.holding(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }
}
