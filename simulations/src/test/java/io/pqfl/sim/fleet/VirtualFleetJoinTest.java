package io.pqfl.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A fleet that cannot reach the live clients a round needs says so at once, instead of waiting for them. */
class VirtualFleetJoinTest {
    private static VirtualFleet.Failure joinFailure(String client) {
        return new VirtualFleet.Failure(client, 0, VirtualFleet.COULD_NOT_JOIN + "UNAVAILABLE: connection refused");
    }

    @Test
    void tooFewJoined_forTheQuorum_isAReasonNamingTheFirstFailure() {
        String why = VirtualFleet.unjoinable(List.of(joinFailure("client-003"), joinFailure("client-007")), 10, 10);
        assertThat(why).isEqualTo("2 of 10 clients could not join (first: client-003: could not join: UNAVAILABLE: "
                + "connection refused), and a round opens only with 10 live clients: the federation cannot start "
                + "(--on-client-failure continue goes on without failed clients, not without a quorum)");
    }

    @Test
    void enoughJoined_orFailuresInRounds_areNoReasonToStop() {
        assertThat(VirtualFleet.unjoinable(List.of(joinFailure("client-003")), 10, 9)).isNull();
        assertThat(VirtualFleet.unjoinable(List.of(new VirtualFleet.Failure("client-003", 2, "training failed: x")), 10, 10))
                .isNull();
        assertThat(VirtualFleet.unjoinable(List.of(), 10, 10)).isNull();
    }
}
