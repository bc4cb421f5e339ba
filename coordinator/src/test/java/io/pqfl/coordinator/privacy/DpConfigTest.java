package io.pqfl.coordinator.privacy;

import static io.pqfl.coordinator.verify.VerifiedUpdates.vector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
