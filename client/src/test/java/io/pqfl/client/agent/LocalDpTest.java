package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.privacy.RdpAccountant;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.List;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class LocalDpTest {
    private static final ModelManifest M = new ModelManifest("v", List.of(TensorSpec.of("w", 1, 100_000)));

    @Test
    void theUpdateIsClippedToTheNormAndCarriesNoiseOfStdZTimesC() {
        ModelWeights global = ModelWeights.zeros(M);
        ModelWeights trained = ModelWeights.zeros(M);
        trained.tensor(0)[0] = 30f; // norm 30, clipped to 3
        LocalDp dp = LocalDp.withRandom(0.5, 3.0, 1e-5, new Random(3));
        ModelWeights out = dp.apply(1, global, trained);
        // coordinate 0: 3 plus noise; the others: noise of std 0.5 * 3 = 1.5
        double sum2 = 0;
        float[] o = out.tensor(0);
        for (int i = 1; i < o.length; i++) {
            sum2 += o[i] * (double) o[i];
        }
        assertThat(Math.sqrt(sum2 / (o.length - 1))).isCloseTo(1.5, Offset.offset(0.015));
        assertThat((double) o[0]).isBetween(3 - 6 * 1.5, 3 + 6 * 1.5);
        LocalDp noiseless = LocalDp.withRandom(1e-12, 3.0, 1e-5, new Random(3));
        assertThat((double) noiseless.apply(1, global, trained).tensor(0)[0]).isCloseTo(3.0, Offset.offset(1e-6));
        assertThat(dp.released()).isEqualTo(1);
    }

    @Test
    void itsEpsilonIsTheAccountantsForTheGaussianMechanismWithoutSampling() {
        LocalDp dp = LocalDp.withRandom(2.0, 1.0, 1e-5, new Random(1));
        ModelWeights g = ModelWeights.zeros(M);
        for (int r = 1; r <= 7; r++) {
            dp.apply(r, g, g);
        }
        RdpAccountant a = new RdpAccountant();
        a.compose(1.0, 2.0, 7); // rate 1: the client's data is in every update it sends
        assertThat(dp.epsilon()).isCloseTo(a.epsilon(1e-5), Offset.offset(1e-9));
        assertThat(LocalDp.epsilon(0, 2.0, 1e-5)).isZero();
        assertThatThrownBy(() -> new LocalDp(0, 1, 1e-5)).hasMessageContaining("positive");
    }
}
