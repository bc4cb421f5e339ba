package io.pqfl.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.agent.PooledAgent;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.sim.load.SyntheticTrainer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fleet's own bookkeeping, without a coordinator: clients join only when the coordinator samples them, a
 * finished federation releases those never sampled, and a coordinator whose rounds broke ends the wait at once
 * with the reason instead of leaving the run to its overall limit.
 */
class VirtualFleetTest {
    private final ManagedChannel nowhere = InProcessChannelBuilder.forName("no-coordinator-here").build();
    private final List<String> printed = new ArrayList<>();

    @AfterEach
    void close() {
        nowhere.shutdownNow();
    }

    private VirtualFleet fleet(int clients) {
        VirtualFleet fleet = new VirtualFleet(Duration.ofSeconds(1), VirtualFleet.Behaviour.UNIFORM,
                VirtualFleet.FailurePolicy.CONTINUE, 2, printed::add);
        var coordinator = Keys.generate(SignatureScheme.ML_DSA_44).verifyingKey();
        var manifest = new ModelManifest("test", List.of(new TensorSpec("w", List.of(2))));
        for (int i = 0; i < clients; i++) {
            var settings = ClientAgent.Settings.builder(new ClientId("client-" + i), Keys.generate(SignatureScheme.ML_DSA_44),
                    coordinator).build();
            fleet.add(new PooledAgent(nowhere, settings, ClientAgent.Hooks.builder().build(),
                    new SyntheticTrainer(manifest, 0.1f)));
        }
        return fleet;
    }

    @Test
    void aFinishedFederation_releasesTheClientsNeverSampled_noneOfWhichJoined() throws Exception {
        try (VirtualFleet fleet = fleet(3)) {
            fleet.start(2);
            VirtualFleet.Demand demand = new VirtualFleet.Demand(c -> -1); // none of the coordinator's are ours
            demand.attach(fleet);
            demand.sampled(1, false, List.of(new ClientId("someone-else")));
            demand.finished(1);
            fleet.await(Duration.ofSeconds(30), Duration.ofSeconds(10), () -> "stalled", () -> null);
            assertThat(fleet.joined()).isZero();
            assertThat(fleet.failures()).isEmpty();
        }
    }

    @Test
    void aBrokenCoordinator_endsTheWaitWithItsReason() throws Exception {
        try (VirtualFleet fleet = fleet(2)) {
            fleet.start(2);
            assertThatThrownBy(() -> fleet.await(Duration.ofMinutes(10), Duration.ofSeconds(10), () -> "stalled",
                    () -> "the coordinator's round loop failed: disk full"))
                    .isInstanceOf(VirtualFleet.FleetException.class)
                    .hasMessage("the coordinator's round loop failed: disk full");
        }
    }
}
