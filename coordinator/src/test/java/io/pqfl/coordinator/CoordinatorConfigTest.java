package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The coordinator is model-agnostic: it is handed its initial model, as weights or as a file, exactly one of them. */
class CoordinatorConfigTest {
    @Test
    void initialModel_asWeightsOrAsAFile_exactlyOne() {
        CoordinatorConfig weights = CoordinatorConfig.builder().initialWeights(tiny(0)).build();
        assertThat(weights.initialWeights().digest()).isEqualTo(tiny(0).digest());
        assertThat(weights.describeInitialModel()).isEqualTo("tiny");

        CoordinatorConfig file = CoordinatorConfig.builder().initialModel(Path.of("initial.pqfl")).build();
        assertThat(file.initialWeights()).isNull();
        assertThat(file.describeInitialModel()).isEqualTo("file initial.pqfl");

        assertThatThrownBy(() -> CoordinatorConfig.builder().build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no initial model");
        assertThatThrownBy(() -> CoordinatorConfig.builder().initialWeights(tiny(0)).initialModel(Path.of("initial.pqfl"))
                .build()).hasMessageContaining("not both");
    }
}
