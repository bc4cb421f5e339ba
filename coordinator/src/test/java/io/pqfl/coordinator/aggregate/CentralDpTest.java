package io.pqfl.coordinator.aggregate;

import static io.pqfl.coordinator.verify.VerifiedUpdates.of;
import static io.pqfl.coordinator.verify.VerifiedUpdates.vector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.pqfl.coordinator.privacy.DpSettings;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.privacy.RdpAccountant;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.ModelWeights;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Central DP: clipping bounds one update's influence, the noise has the documented scale, nothing else changes. */
class CentralDpTest {
    private static final ModelWeights ZERO = vector(0, 0, 0);

    private static float[] run(Strategy s, ModelWeights global, List<VerifiedUpdate> updates) {
        return run(s, 1, global, updates);
    }

    private static float[] run(Strategy s, long round, ModelWeights global, List<VerifiedUpdate> updates) {
        RoundAggregator a = s.begin(round, global);
        updates.forEach(a::accept);
        return a.finish().tensor(0);
    }

    /** Adaptive clipping from {@code clip}, without model noise, with count noise of std {@code countStddev}. */
    private static CentralDp adaptive(double clip, double quantile, double lr, double countStddev, long seed) {
        return CentralDp.withRandom(new FedAvg(), new DpSettings(0, clip, 1e-5, 0,
                new DpSettings.AdaptiveClipping(quantile, lr, countStddev)), new Random(seed));
    }

    /** Updates whose differences from {@link #ZERO} have the L2 norms {@code norms}. */
    private static List<VerifiedUpdate> withNorms(double... norms) {
        return java.util.Arrays.stream(norms).mapToObj(n -> of(vector((float) n, 0, 0), 1)).toList();
    }

    private static CentralDp dp(double z, double clip) {
        return CentralDp.withRandom(new FedAvg(), new DpSettings(z, clip, 1e-5, 0), new Random(7));
    }

    private static double norm(float[] x) {
        double s = 0;
        for (float v : x) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }

    @Test
    void withoutNoiseAndWithALargeClip_itIsPlainEquallyWeightedFedAvg() {
        ModelWeights global = vector(0.5f, -1, 2);
        List<VerifiedUpdate> updates = List.of(of(vector(1, 2, 3), 10), of(vector(5, 6, 7), 1), of(vector(-3, 0.25f, 9), 4));
        float[] plain = run(new FedAvg(Weighting.EQUAL), global, updates);
        float[] private_ = run(dp(0, 1e6), global, updates);
        // (g + mean(w_i - g)) equals mean(w_i) up to float rounding of the two summation orders
        assertThat(private_).containsExactly(plain, within(1e-6f));
        assertThat(private_).containsExactly(new float[] {1, 8.25f / 3, 19f / 3}, within(1e-6f));
    }

    @Test
    void clipping_boundsAHugeUpdatesInfluenceByClipOverN() {
        double clip = 1.0;
        List<VerifiedUpdate> honest = List.of(of(vector(0.1f, 0, 0), 1), of(vector(0, 0.1f, 0), 1), of(vector(0, 0, 0.1f), 1));
        VerifiedUpdate huge = of(vector(1e6f, -1e6f, 3e6f), 1_000_000);
        float[] without = run(dp(0, clip), ZERO, honest.subList(0, 3));
        List<VerifiedUpdate> all = List.of(honest.get(0), honest.get(1), honest.get(2), huge);
        float[] with = run(dp(0, clip), ZERO, all);
        // with n = 4 the huge update's clipped contribution is at most C/4 in norm; the honest ones now weigh 1/4
        float[] honestPart = new float[3];
        for (int i = 0; i < 3; i++) {
            honestPart[i] = without[i] * 3 / 4;
        }
        float[] moved = new float[3];
        for (int i = 0; i < 3; i++) {
            moved[i] = with[i] - honestPart[i];
        }
        assertThat(norm(moved)).isCloseTo(clip / 4, within(1e-6));
        // ... and plain FedAvg is dragged a million units away by it
        assertThat(norm(run(new FedAvg(Weighting.EQUAL), ZERO, all))).isGreaterThan(1e5);
        // the example count it claims buys it nothing
        assertThat(norm(with)).isLessThan(clip);
    }

    @Test
    void clipping_scalesTheDifferenceFromTheGlobalModel_notTheWeights() {
        ModelWeights global = vector(100, 100, 100);
        // difference (3, 4, 0): norm 5, clipped to 1 -> (0.6, 0.8, 0)
        assertThat(run(dp(0, 1.0), global, List.of(of(vector(103, 104, 100), 1)))).containsExactly(
                new float[] {100.6f, 100.8f, 100}, within(1e-4f));
    }

    @Test
    void noise_hasStandardDeviationNoiseMultiplierTimesClipOverN() {
        int n = 4;
        double z = 1.3;
        double clip = 0.5;
        int size = 200_000;
        ModelWeights global = ModelWeights.zeros(vector(new float[size]).manifest());
        List<VerifiedUpdate> zeros = IntStream.range(0, n).mapToObj(i -> of(global.copy(), 1)).toList();
        CentralDp s = CentralDp.withRandom(new FedAvg(), new DpSettings(z, clip, 1e-5, 0), new Random(11));
        float[] out = run(s, global, zeros);
        double sum = 0;
        double sq = 0;
        for (float v : out) {
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / size;
        double std = Math.sqrt(sq / size - mean * mean);
        double expected = z * clip / n; // 0.1625
        // 200,000 draws: the sample std is within 1% of the true one with overwhelming probability (its s.e. is 0.16%)
        assertThat(std).isCloseTo(expected, within(expected * 0.01));
        assertThat(mean).isCloseTo(0, within(expected * 0.01));
    }

    @Test
    void noise_comesFromTheInjectedSecureRandom() {
        CentralDp s = new CentralDp(new FedAvg(), new DpSettings(1.0, 1.0, 1e-5, 0), new SecureRandom());
        float[] a = run(s, ZERO, List.of(of(vector(0, 0, 0), 1)));
        float[] b = run(s, ZERO, List.of(of(vector(0, 0, 0), 1)));
        assertThat(a).isNotEqualTo(b);
    }

    @Test
    void refusesStrategiesThatAreNotSums() {
        DpSettings settings = new DpSettings(1.0, 1.0, 1e-5, 0);
        for (String name : List.of("fedmedian", "trimmedmean", "krum", "multikrum")) {
            assertThatThrownBy(() -> new CentralDp(Strategies.create(name, Map.of()), settings, new SecureRandom()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sum-based")
                    .hasMessageContaining("fedavg");
        }
        for (String name : List.of("fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad")) {
            new CentralDp(Strategies.create(name, Map.of()), settings, new SecureRandom());
        }
    }

    @Test
    void fedOpt_stepsFromTheNoisedAverage() {
        // FedAdagrad with beta1 = 0, noise 0, large clip: the same step as plain FedAdagrad on the equal-weighted mean
        List<VerifiedUpdate> updates = List.of(of(vector(1, 2, 3), 5), of(vector(3, 2, 1), 1));
        float[] plain = run(new FedAdagrad(0.1f, 0f, 1e-3f).weighting(Weighting.EQUAL), ZERO, updates);
        float[] dp = run(CentralDp.withRandom(new FedAdagrad(0.1f, 0f, 1e-3f), new DpSettings(0, 1e6, 1e-5, 0),
                new Random(1)), ZERO, updates);
        assertThat(dp).containsExactly(plain, within(1e-6f));
    }

    @Test
    void accountsEachRoundAtItsSamplingRate_andReportsEpsilon() {
        CentralDp s = dp(1.0, 1.0);
        List<ClientId> eligible = IntStream.range(0, 10).mapToObj(i -> new ClientId("c" + i)).toList();
        assertThat(s.sample(1, eligible, 5, new Random(1))).hasSize(5);
        run(s, ZERO, List.of(of(vector(1, 0, 0), 1)));
        PrivacySpent spent = s.lastSpent();
        assertThat(spent.rate()).isEqualTo(0.5);
        io.pqfl.coordinator.privacy.RdpAccountant ref = new io.pqfl.coordinator.privacy.RdpAccountant();
        ref.compose(0.5, 1.0, 1);
        assertThat(spent.totalEpsilon()).isEqualTo(ref.epsilon(1e-5)).isEqualTo(spent.roundEpsilon());
        assertThat(spent.describe()).contains("dp_epsilon=").contains("dp_rate=0.5 ");
        // round 2 resumed without a sample: counted at rate 1, never less
        RoundAggregator a = s.begin(2, ZERO);
        a.accept(of(vector(1, 0, 0), 1));
        a.finish();
        ref.compose(1.0, 1.0, 1);
        assertThat(s.totalEpsilon()).isCloseTo(ref.epsilon(1e-5), within(1e-12));
    }

    @Test
    void budget_refusesTheRoundThatWouldCrossIt_beforeAnyNoise() {
        // one round at rate 1 and z = 1 costs more than epsilon 4 at delta 1e-5? eps(1 round) = min a/2 + 11.51/(a-1) = 5.3
        CentralDp s = CentralDp.withRandom(new FedAvg(), new DpSettings(1.0, 1.0, 1e-5, 6.0), new Random(1));
        run(s, ZERO, List.of(of(vector(1, 0, 0), 1)));
        assertThat(s.totalEpsilon()).isLessThan(6.0);
        assertThat(s.nextRoundWouldExceedBudget()).isTrue();
        RoundAggregator a = s.begin(2, ZERO);
        a.accept(of(vector(1, 0, 0), 1));
        assertThatThrownBy(a::finish).isInstanceOf(AggregationException.class).hasMessageContaining("PRIVACY_BUDGET")
                .hasMessageContaining("budget 6.0");
        assertThat(s.lastSpent().round()).isEqualTo(1);
    }

    @Test
    void adaptiveClipping_movesTheClipByExpOfMinusLrTimesTheUnclippedShareLessTheQuantile() {
        CentralDp s = adaptive(1.0, 0.5, 0.2, 0, 1);
        // norms 0.5 and 1.0 are not clipped (<= C), 2 and 3 are: b = 2/4, one the quantile, so C stays
        run(s, 1, ZERO, withNorms(0.5, 1.0, 2, 3));
        assertThat(s.lastSpent().clipped()).isEqualTo(2);
        assertThat(s.clipNorm()).isEqualTo(1.0);
        // one of three unclipped: b = 1/3 < 0.5, so C grows by exp(0.2 * (0.5 - 1/3))
        run(s, 2, ZERO, withNorms(0.5, 2, 3));
        double grown = Math.exp(-0.2 * (1.0 / 3 - 0.5));
        assertThat(s.clipNorm()).isCloseTo(grown, within(1e-15));
        PrivacySpent spent = s.lastSpent();
        assertThat(spent.clip()).isEqualTo(1.0);
        assertThat(spent.nextClip()).isEqualTo(s.clipNorm());
        // the next round clips to the new norm: one update of norm 10 moves the model by exactly C
        float[] moved = run(s, 3, ZERO, withNorms(10));
        assertThat((double) moved[0]).isCloseTo(grown, within(1e-6));
        assertThat(s.lastSpent().clip()).isEqualTo(grown);
        // that update was clipped (b = 0): C grows by exp(0.2 * 0.5)
        assertThat(s.clipNorm()).isCloseTo(grown * Math.exp(0.2 * 0.5), within(1e-12));
    }

    @Test
    void adaptiveClipping_withANoiselessCount_convergesToTheQuantileOfTheNorms() {
        List<VerifiedUpdate> norms = withNorms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        // from below and from above; the clip settles where the share of norms <= C is the quantile
        for (double start : new double[] {0.1, 1000}) {
            CentralDp median = adaptive(start, 0.5, 0.2, 0, 1);
            CentralDp ninety = adaptive(start, 0.9, 0.2, 0, 1);
            // from 1000 to 10 at exp(-0.2 * (1 - 0.9)) a round takes 231 rounds
            for (int round = 1; round <= 400; round++) {
                run(median, round, ZERO, norms);
                run(ninety, round, ZERO, norms);
            }
            assertThat(median.clipNorm()).as("median from " + start).isGreaterThanOrEqualTo(5).isLessThan(6);
            assertThat(ninety.clipNorm()).as("0.9 quantile from " + start).isGreaterThanOrEqualTo(9).isLessThan(10);
            assertThat(median.lastSpent().clipped()).isEqualTo(5);
        }
    }

    @Test
    void adaptiveClipping_noisesTheCountWithTheConfiguredStd() {
        // every update unclipped and quantile 1: log(C'/C) = -lr * noise / n, whose std is lr * sigma_b / n = 0.06
        CentralDp s = adaptive(1.0, 1.0, 0.2, 3.0, 5);
        int rounds = 4000;
        double[] steps = new double[rounds];
        List<VerifiedUpdate> unmoved = withNorms(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        for (int round = 1; round <= rounds; round++) {
            double before = s.clipNorm();
            run(s, round, ZERO, unmoved);
            steps[round - 1] = Math.log(s.clipNorm() / before);
        }
        double mean = java.util.Arrays.stream(steps).average().orElseThrow();
        double std = Math.sqrt(java.util.Arrays.stream(steps).map(x -> (x - mean) * (x - mean)).sum() / (rounds - 1));
        // 4,000 draws: the sample std's standard error is about 1.1%
        assertThat(std).isCloseTo(0.2 * 3.0 / 10, within(0.06 * 0.05));
        assertThat(mean).isCloseTo(0, within(0.06 * 0.1));
    }

    @Test
    void adaptiveClipping_noisesTheUpdatesAtTheLargerMultiplier_andAccountsTheRoundAtZ() {
        // z = 1, sigma_b = 1: the updates get (1 - (2 * 1)^-2)^(-1/2) = 2 / sqrt(3), the accountant counts z = 1
        DpSettings settings = new DpSettings(1.0, 0.5, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, 1.0));
        assertThat(settings.updateNoiseMultiplier()).isCloseTo(2 / Math.sqrt(3), within(1e-15));
        int n = 4;
        int size = 200_000;
        ModelWeights global = ModelWeights.zeros(vector(new float[size]).manifest());
        List<VerifiedUpdate> zeros = IntStream.range(0, n).mapToObj(i -> of(global.copy(), 1)).toList();
        CentralDp s = CentralDp.withRandom(new FedAvg(), settings, new Random(11));
        float[] out = run(s, global, zeros);
        double sq = 0;
        for (float v : out) {
            sq += (double) v * v;
        }
        double std = Math.sqrt(sq / size);
        double expected = 2 / Math.sqrt(3) * 0.5 / n; // 0.1443, 15% above z * C / n = 0.125
        assertThat(std).isCloseTo(expected, within(expected * 0.01));
        RdpAccountant ref = new RdpAccountant();
        ref.compose(1.0, 1.0, 1);
        assertThat(s.lastSpent().totalEpsilon()).isEqualTo(ref.epsilon(1e-5));
        assertThat(s.lastSpent().noiseMultiplier()).isEqualTo(1.0);
    }

    @Test
    void adaptiveClipping_refusesSettingsWhoseCountNoiseIsNotChosen() {
        DpSettings unresolved = new DpSettings(1.0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, Double.NaN));
        assertThatThrownBy(() -> new CentralDp(new FedAvg(), unresolved, new SecureRandom()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forExpectedClients");
        new CentralDp(new FedAvg(), unresolved.forExpectedClients(100), new SecureRandom());
    }

    @Test
    void aRoundSampledButNeverAggregated_releasedNothingAndIsNotCounted_butAnUnknownRoundIs() {
        CentralDp s = dp(1.0, 1.0);
        List<ClientId> eligible = IntStream.range(0, 10).mapToObj(i -> new ClientId("c" + i)).toList();
        List<VerifiedUpdate> one = List.of(of(vector(1, 0, 0), 1));
        s.sample(1, eligible, 5, new Random(1)); // round 1 skipped with too few updates: finish() never called
        s.sample(2, eligible, 5, new Random(1));
        run(s, 2, ZERO, one);
        RdpAccountant ref = new RdpAccountant();
        ref.compose(0.5, 1.0, 1);
        assertThat(s.totalEpsilon()).isEqualTo(ref.epsilon(1e-5));
        assertThat(s.pendingRates()).isEmpty();
        // round 3 was never sampled here (closed before a restart, say): unknown, so it counts at rate 1
        s.sample(4, eligible, 5, new Random(1));
        run(s, 4, ZERO, one);
        ref.compose(1.0, 1.0, 1);
        ref.compose(0.5, 1.0, 1);
        assertThat(s.totalEpsilon()).isCloseTo(ref.epsilon(1e-5), within(1e-12));
    }

    @Test
    void resume_countsEachLedgeredRoundAtItsRate_theRoundsWithoutAnEntryAtOne_andTheClipContinues() {
        CentralDp s = adaptiveWithNoise();
        List<PrivacySpent> ledgered = List.of(
                new PrivacySpent(1, 0.5, 10, 4, 1.0, 1.2, 1.0, 1, 1, 1e-5),
                new PrivacySpent(3, 0.25, 10, 4, 1.3, 1.4, 1.0, 1, 3, 1e-5));
        s.resume(ledgered);
        RdpAccountant ref = new RdpAccountant();
        ref.compose(0.5, 1.0, 1);
        ref.compose(1.0, 1.0, 1); // round 2 has no entry
        ref.compose(0.25, 1.0, 1);
        assertThat(s.totalEpsilon()).isCloseTo(ref.epsilon(1e-5), within(1e-12));
        assertThat(s.clipNorm()).isEqualTo(1.4);
        assertThat(s.lastSpent().round()).isEqualTo(3);
        // the next round clips to 1.4: one update of norm 10 moves the model by 1.4 (plus noise of std 0.1 * 1.4)
        run(s, 4, ZERO, withNorms(10));
        assertThat(s.lastSpent().clip()).isEqualTo(1.4);
        ref.compose(1.0, 1.0, 1);
        assertThat(s.totalEpsilon()).isCloseTo(ref.epsilon(1e-5), within(1e-12));
        assertThatThrownBy(() -> s.resume(ledgered)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> adaptiveWithNoise().resume(List.of(ledgered.get(1), ledgered.get(0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("round 1 after round 3's");
    }

    private static CentralDp adaptiveWithNoise() {
        return CentralDp.withRandom(new FedAvg(), new DpSettings(1.0, 0.5, 1e-5, 0,
                new DpSettings.AdaptiveClipping(0.5, 0.2, 5)), new Random(3));
    }
}
