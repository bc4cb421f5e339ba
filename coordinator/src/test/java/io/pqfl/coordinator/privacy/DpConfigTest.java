package io.pqfl.coordinator.privacy;

import static io.pqfl.coordinator.verify.VerifiedUpdates.vector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.pqfl.coordinator.CoordinatorConfig;
import org.junit.jupiter.api.Test;

/** The coordinator's configuration refuses DP it cannot honour, before anything starts. */
class DpConfigTest {
    private static CoordinatorConfig.Builder base() {
        return CoordinatorConfig.builder().initialWeights(vector(0, 0, 0));
    }

    @Test
    void refusesDpWithMedianTrimmedMeanAndKrum() {
        for (String s : new String[] {"fedmedian", "trimmedmean", "krum"}) {
            assertThatThrownBy(() -> base().strategy(s).differentialPrivacy(new DpSettings(1, 1, 1e-5, 0)).build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sum-based");
        }
        assertThat(base().strategy("fedadam").differentialPrivacy(new DpSettings(1, 1, 1e-5, 0)).build().dp()).isNotNull();
    }

    @Test
    void refusesToStartWhenThePlannedRoundsWouldExceedTheBudget() {
        // default sampling can take every live client (rate 1): 100 rounds at z = 1 spend far more than epsilon 5
        assertThatThrownBy(() -> base().rounds(100).differentialPrivacy(new DpSettings(1, 1, 1e-5, 5)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("planned 100 rounds")
                .hasMessageContaining("over the DP epsilon budget 5.0");
        // with 10 per round out of at least 1000 live clients the rate is at most 0.01: 100 rounds fit in epsilon 5
        base().rounds(100).minClients(1000).minUpdates(10).clientsPerRound(10).differentialPrivacy(new DpSettings(1, 1, 1e-5, 5)).build();
        assertThat(CoordinatorConfig.largestSamplingRate(10, 1000)).isEqualTo(0.01);
        assertThat(CoordinatorConfig.largestSamplingRate(0, 1000)).isEqualTo(1.0);
    }

    @Test
    void adaptiveClipping_updateNoiseMultiplierIsTheorem1s_andUndefinedSettingsAreRefused() {
        // z_u = (z^-2 - (2 sigma_b)^-2)^(-1/2): z = 1, sigma_b = 5 gives (1 - 0.01)^(-1/2)
        DpSettings ok = new DpSettings(1.0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, 5));
        assertThat(ok.updateNoiseMultiplier()).isCloseTo(1 / Math.sqrt(0.99), within(1e-15));
        assertThat(ok.noiseMultiplier()).isEqualTo(1.0);
        assertThat(new DpSettings(1.0, 1.0, 1e-5, 0).updateNoiseMultiplier()).isEqualTo(1.0);
        // 2 sigma_b <= z: z^-2 - (2 sigma_b)^-2 <= 0, no multiplier on the updates reaches z
        for (double std : new double[] {0.5, 0.3, 0}) {
            assertThatThrownBy(() -> new DpSettings(1.0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, std)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("needs a clipped-count noise std above 1.0 / 2 = 0.5, got " + std)
                    .hasMessageContaining("Theorem 1").hasMessageContaining("--dp-clip-count-stddev");
        }
        // without noise there is no privacy to share: a noiseless count is allowed, and so is the update's
        assertThat(new DpSettings(0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, 0)).updateNoiseMultiplier())
                .isZero();
        assertThatThrownBy(() -> new DpSettings.AdaptiveClipping(1.5, 0.2, 1)).hasMessageContaining("quantile");
        assertThatThrownBy(() -> new DpSettings.AdaptiveClipping(0.5, 0, 1)).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> new DpSettings.AdaptiveClipping(0.5, 0.2, -1)).hasMessageContaining("noise std");
    }

    @Test
    void adaptiveClipping_theDefaultCountNoiseIsTheExpectedClientsPerRoundOver20() {
        DpSettings unchosen = new DpSettings(1.0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, Double.NaN));
        CoordinatorConfig config = base().minClients(100).minUpdates(40).clientsPerRound(40)
                .differentialPrivacy(unchosen).build();
        assertThat(config.dp().adaptive().countStddev()).isEqualTo(2.0);
        // with the fraction: the smallest round it samples, here every one of at least 60 live clients
        assertThat(base().minClients(60).differentialPrivacy(unchosen).build().dp().adaptive().countStddev()).isEqualTo(3.0);
        // 10 per round: 10 / 20 = 0.5, not above z / 2 = 0.5; the message says where the default came from
        assertThatThrownBy(() -> base().minClients(10).clientsPerRound(10).differentialPrivacy(unchosen).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the default std for 10 clients per round is 10 / 20 = 0.5");
        // a chosen std is kept
        DpSettings chosen = new DpSettings(1.0, 1.0, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, 0.75));
        assertThat(base().minClients(10).clientsPerRound(10).differentialPrivacy(chosen).build().dp()).isEqualTo(chosen);
    }
}
