package io.pqfl.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class DataDirectoryTest {
    private final DataDirectory data = DataDirectory.of(Path.of("/srv/pqfl-data"));

    @Test
    void layout_isTheDocumentedOne() {
        assertThat(data.database()).isEqualTo(Path.of("/srv/pqfl-data/pqfl.db"));
        assertThat(data.jdbcUrl()).isEqualTo("jdbc:sqlite:/srv/pqfl-data/pqfl.db");
        assertThat(data.trust()).isEqualTo(Path.of("/srv/pqfl-data/trust"));
        assertThat(data.certified()).isEqualTo(Path.of("/srv/pqfl-data/certified"));
        assertThat(data.checkpoint(0)).isEqualTo(Path.of("/srv/pqfl-data/checkpoints/model-000000.pqfl"));
        assertThat(data.checkpoint(12)).isEqualTo(Path.of("/srv/pqfl-data/checkpoints/model-000012.pqfl"));
        assertThat(data.strategyState(3)).isEqualTo(Path.of("/srv/pqfl-data/checkpoints/state-000003.pqfl"));
        assertThat(data.spool(7)).isEqualTo(Path.of("/srv/pqfl-data/spool/round-000007"));
    }

    @Test
    void checkpointRound_readsTheRoundBackFromTheFileName_andIgnoresOtherFiles() {
        assertThat(DataDirectory.checkpointRound(data.checkpoint(42))).hasValue(42);
        assertThat(DataDirectory.checkpointRound(data.checkpoint(1_000_000))).hasValue(1_000_000);
        assertThat(DataDirectory.checkpointRound(data.strategyState(1))).isEqualTo(OptionalLong.empty());
        assertThat(DataDirectory.checkpointRound(Path.of("model-000001.pqfl.tmp"))).isEmpty();
        assertThat(DataDirectory.checkpointRound(Path.of("model-" + "9".repeat(40) + ".pqfl"))).isEmpty();
    }
}
