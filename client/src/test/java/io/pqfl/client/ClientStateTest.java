package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.client.agent.ClientState;
import io.pqfl.crypto.KeyId;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientStateTest {
    @TempDir
    Path dir;

    private static final KeyId COORDINATOR = new KeyId("00112233445566778899aabbccddeeff");
    private static final KeyId ANOTHER = new KeyId("ffeeddccbbaa99887766554433221100");

    @Test
    void newestRounds_surviveARestart_neverGoBack_andArePerFederationAndCoordinatorKey() throws Exception {
        Path file = dir.resolve("state/client.properties");
        ClientState first = ClientState.load(file);
        assertThat(first.newestTaskRound("fed", COORDINATOR)).isEqualTo(-1);
        first.accepted("fed", COORDINATOR, 4, 3);
        first.accepted("fed", COORDINATOR, 2, 1); // an older task changes nothing

        ClientState restarted = ClientState.load(file);
        assertThat(restarted.newestTaskRound("fed", COORDINATOR)).isEqualTo(4);
        assertThat(restarted.newestModelRound("fed", COORDINATOR)).isEqualTo(3);
        assertThat(restarted.newestTaskRound("other", COORDINATOR)).isEqualTo(-1);
        assertThat(restarted.newestTaskRound("fed", ANOTHER)).isEqualTo(-1);
    }
}
