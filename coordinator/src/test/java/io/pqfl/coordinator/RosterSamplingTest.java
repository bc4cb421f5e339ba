package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.plus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.round.RoundPlan;
import io.pqfl.coordinator.round.Stage;
import io.pqfl.crypto.ClientId;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator that samples from a roster (over a real socket): its first round opens as it starts, before anyone
 * said Hello, among the roster's enrolled clients only; a sampled client that joins later finds its task and the
 * round closes with the updates as usual.
 */
class RosterSamplingTest {
    @TempDir
    Path dir;

    @Test
    void theFirstRoundOpensAtStart_amongTheRostersEnrolledClients_andASampledClientJoiningLaterTrains() throws Exception {
        List<ClientId> roster = List.of(new ClientId("c1"), new ClientId("c2"), new ClientId("stranger"));
        try (TestFederation fed = TestFederation.start(dir, 3, b -> b.minClients(2).sampleFrom(roster))) {
            // No Hello yet: the round is open, and the stranger (no key in the trust store) was not sampled, nor c3
            // (enrolled, but not on the roster).
            assertThat(fed.engine.stage()).isEqualTo(Stage.ROUND_OPEN);
            RoundPlan plan = fed.engine.openRoundPlan().orElseThrow();
            assertThat(plan.sampled()).containsExactly(new ClientId("c1"), new ClientId("c2"));
            for (String id : List.of("c1", "c2")) {
                TestClient c = fed.client(id);
                c.hello();
                TestClient.ReceivedTask task = c.task(10_000);
                assertThat(task.header().getRound()).isEqualTo(1);
                assertThat(c.submit(task, plus(task.model(), 1f), 10).getAccepted()).isTrue();
            }
            assertThat(fed.engine.awaitFinished(java.time.Duration.ofSeconds(20))).isTrue();
        }
    }

    @Test
    void aRosterTooSmallForARound_orNamingAClientTwice_isRefused() {
        assertThatThrownBy(() -> CoordinatorConfig.builder().initialWeights(io.pqfl.protocol.ProtocolFixtures.tiny(0))
                .minClients(3).sampleFrom(List.of(new ClientId("a"), new ClientId("b"))).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no round could open");
        assertThatThrownBy(() -> CoordinatorConfig.builder().initialWeights(io.pqfl.protocol.ProtocolFixtures.tiny(0))
                .minClients(1).sampleFrom(List.of(new ClientId("a"), new ClientId("a"))).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than once");
    }
}
