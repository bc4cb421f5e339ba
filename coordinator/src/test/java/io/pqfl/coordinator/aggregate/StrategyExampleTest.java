package io.pqfl.coordinator.aggregate;

import static io.pqfl.coordinator.verify.VerifiedUpdates.vector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.coordinator.verify.VerifiedUpdates;
import io.pqfl.protocol.ModelWeights;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The examples of the {@code io.pqfl.coordinator.aggregate} package documentation, run as written. */
class StrategyExampleTest {
    @Test
    void configExample_builds() {
        CoordinatorConfig config = CoordinatorConfig.builder().federationId("demo").dataDir(Path.of("pqfl-data"))
                .initialModel(Path.of("initial.pqfl"))
                .strategy("fedadam").strategyParams(Map.of("eta", "0.01", "beta1", "0.9"))
                .rounds(20).minClients(4).build();
        assertThat(config.strategy()).isEqualTo("fedadam");
    }

    @Test
    void aggregatorExample_theMedianOfVerifiedUpdates() {
        ModelWeights global = vector(0, 0, 0);
        List<VerifiedUpdate> verified = List.of(VerifiedUpdates.of(vector(1, 10, -1), 5),
                VerifiedUpdates.of(vector(2, 20, -2), 5), VerifiedUpdates.of(vector(300, 30, -3), 5));

        Strategy median = Strategies.create("fedmedian", Map.of());
        median.checkClients(3);
        RoundAggregator round = median.begin(1, global);
        for (VerifiedUpdate update : verified) {
            round.accept(update);
        }
        ModelWeights next = round.finish();

        assertThat(next.tensor(0)).containsExactly(2f, 20f, -2f);
        assertThat(global.tensor(0)).containsExactly(0f, 0f, 0f);
        assertThatThrownBy(() -> Strategies.create("trimmedmean", Map.of("beta", "0.4")).checkClients(2))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
