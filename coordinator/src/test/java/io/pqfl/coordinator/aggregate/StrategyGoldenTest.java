package io.pqfl.coordinator.aggregate;

import static io.pqfl.coordinator.verify.VerifiedUpdates.of;
import static io.pqfl.coordinator.verify.VerifiedUpdates.vector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Strategy maths on inputs small enough to check by hand; the expected values are worked out in the comments. */
class StrategyGoldenTest {
    private static float[] run(Strategy s, ModelWeights global, List<VerifiedUpdate> updates) {
        RoundAggregator a = s.begin(1, global);
        updates.forEach(a::accept);
        assertThat(a.count()).isEqualTo(updates.size());
        return a.finish().tensor(0);
    }

    private static final ModelWeights ZERO = vector(0, 0, 0);

    @Test
    void fedAvg_weightsByExamples() {
        // (1*[1,2,3] + 3*[5,6,7]) / 4 = [4,5,6]
        assertThat(run(new FedAvg(), ZERO, List.of(of(vector(1, 2, 3), 1), of(vector(5, 6, 7), 3))))
                .containsExactly(new float[] {4, 5, 6}, within(1e-6f));
    }

    @Test
    void fedAvg_doesNotTouchTheUpdatesItWasGiven() {
        VerifiedUpdate u = of(vector(1, 2, 3), 1);
        run(new FedAvg(), ZERO, List.of(u, of(vector(5, 6, 7), 1)));
        assertThat(u.weights().tensor(0)).containsExactly(1, 2, 3);
    }

    @Test
    void fedProx_isFedAvgOnTheServer_andSendsMu() {
        FedProx prox = new FedProx(0.25f);
        assertThat(prox.configureRound(1, TrainingConfig.defaults()).proximalMu()).isEqualTo(0.25f);
        assertThat(run(prox, ZERO, List.of(of(vector(2, 2, 2), 1), of(vector(4, 4, 4), 1)))).containsExactly(3, 3, 3);
    }

    @Test
    void fedMedian_takesTheCoordinateMedian_ignoringAnOutlier() {
        // per coordinate: {1, 2, 1000} -> 2 ; {4, 5, -1000} -> 4 ; {7, 9, 8} -> 8
        assertThat(run(new FedMedian(), ZERO, List.of(of(vector(1, 4, 7), 1), of(vector(2, 5, 9), 1),
                of(vector(1000, -1000, 8), 50)))).containsExactly(2, 4, 8);
        // even count: mean of the middle two: {1,2,3,100} -> 2.5
        assertThat(run(new FedMedian(), ZERO, List.of(of(vector(1, 0, 0), 1), of(vector(2, 0, 0), 1),
                of(vector(3, 0, 0), 1), of(vector(100, 0, 0), 1)))[0]).isEqualTo(2.5f);
    }

    @Test
    void trimmedMean_dropsTheExtremes() {
        // beta 0.25 of 4 -> drop 1 each side: {1,2,3,100} -> mean(2,3) = 2.5 ; {-50,4,6,8} -> mean(4,6) = 5
        assertThat(run(new TrimmedMean(0.25), ZERO, List.of(of(vector(1, -50, 0), 1), of(vector(2, 4, 0), 1),
                of(vector(3, 6, 0), 1), of(vector(100, 8, 0), 1)))).containsExactly(2.5f, 5f, 0f);
    }

    @Test
    void krum_picksAClusterMember_andNeverTheOutlier() {
        List<VerifiedUpdate> updates = List.of(of(vector(1, 1, 1), 1), of(vector(1.1f, 1, 1), 1), of(vector(0.9f, 1, 1), 1),
                of(vector(100, 100, 100), 1));
        float[] krum = run(new Krum(1, 1), ZERO, updates);
        // With f=1 each update is scored by its n-f-2 = 1 nearest neighbour: [1,1,1] is 0.01 from both others.
        assertThat(krum).containsExactly(1, 1, 1);
        // Multi-Krum with m=3 averages the three cluster members: ([1]+[1.1]+[0.9])/3 = 1.
        assertThat(run(new Krum(1, 3), ZERO, updates)).containsExactly(new float[] {1, 1, 1}, within(1e-6f));
    }

    @Test
    void fedAdam_firstStep() {
        // d = 1; m = 0.1*1 = 0.1; v = 0.01*1 = 0.01; w = 0 + 0.1 * 0.1 / (0.1 + 0.001) = 0.0990099
        float[] w = run(new FedAdam(0.1f, 0.9f, 0.99f, 1e-3f), ZERO, List.of(of(vector(1, 1, 1), 5)));
        assertThat(w[0]).isCloseTo(0.0990099f, within(1e-6f));
    }

    @Test
    void fedYogi_firstStep_andSecondStepDiffersFromAdam() {
        // First step: v = 0 - 0.01 * 1 * sign(0 - 1) = 0.01, as Adam.
        FedYogi yogi = new FedYogi(0.1f, 0.9f, 0.99f, 1e-3f);
        FedAdam adam = new FedAdam(0.1f, 0.9f, 0.99f, 1e-3f);
        float[] y1 = run(yogi, ZERO, List.of(of(vector(1, 1, 1), 1)));
        float[] a1 = run(adam, ZERO, List.of(of(vector(1, 1, 1), 1)));
        assertThat(y1[0]).isCloseTo(0.0990099f, within(1e-6f)).isEqualTo(a1[0]);
        // Second step from w1 towards 3: d = 3 - w1 = 2.90099; m = 0.9*0.1 + 0.1*d = 0.380099.
        // Adam: v = 0.99*0.01 + 0.01*d^2 = 0.0940575 ; Yogi: v = 0.01 + 0.01*d^2 (sign(0.01 - d^2) = -1) = 0.0941575.
        float[] y2 = run(yogi, vector(y1), List.of(of(vector(3, 3, 3), 1)));
        float[] a2 = run(adam, vector(a1), List.of(of(vector(3, 3, 3), 1)));
        assertThat(a2[0]).isCloseTo(y1[0] + 0.1f * 0.380099f / ((float) Math.sqrt(0.0940575) + 1e-3f), within(1e-5f));
        assertThat(y2[0]).isCloseTo(y1[0] + 0.1f * 0.380099f / ((float) Math.sqrt(0.0941575) + 1e-3f), within(1e-5f));
        assertThat(y2[0]).isNotEqualTo(a2[0]);
    }

    @Test
    void fedAdagrad_firstStep() {
        // beta1 = 0: m = d = 1 ; v = 0 + 1 = 1 ; w = 0.1 * 1 / (1 + 0.001) = 0.0999001
        float[] w = run(new FedAdagrad(0.1f, 0f, 1e-3f), ZERO, List.of(of(vector(1, 1, 1), 1)));
        assertThat(w[0]).isCloseTo(0.0999001f, within(1e-6f));
    }

    @Test
    void fedOpt_stateSurvivesARestart() {
        FedAdam a = new FedAdam(0.1f, 0.9f, 0.99f, 1e-3f);
        float[] w1 = run(a, ZERO, List.of(of(vector(1, 1, 1), 1)));
        FedAdam restored = new FedAdam(0.1f, 0.9f, 0.99f, 1e-3f);
        restored.restore(a.state().orElseThrow());
        assertThat(run(restored, vector(w1), List.of(of(vector(3, 3, 3), 1))))
                .containsExactly(run(a, vector(w1), List.of(of(vector(3, 3, 3), 1))));
    }

    @Test
    void strategies_byName_withParameters_andAClearErrorOtherwise() {
        assertThat(Strategies.create("FedAvg", Map.of()).name()).isEqualTo("fedavg");
        assertThat(Strategies.create("multi-krum", Map.of("f", "1", "m", "3")).name()).isEqualTo("multikrum");
        assertThat(Strategies.create("fedprox", Map.of("mu", "0.5")).configureRound(1, TrainingConfig.defaults()).proximalMu())
                .isEqualTo(0.5f);
        assertThatThrownBy(() -> Strategies.create("fedsgd", Map.of())).hasMessageContaining("unknown strategy 'fedsgd'")
                .hasMessageContaining("fedavg");
        assertThatThrownBy(() -> Strategies.create("trimmedmean", Map.of("beta", "0.7"))).hasMessageContaining("[0, 0.5)");
        assertThatThrownBy(() -> Strategies.create("fedprox", Map.of("mu", "lots"))).hasMessageContaining("not a number");
    }
}
