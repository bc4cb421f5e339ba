package io.pqfl.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.cli.CliException;
import org.junit.jupiter.api.Test;

/** {@code pqfl client}'s command line. A real client run is in PostQuantumCliTest. */
class ClientCommandTest {
    @Test
    void address_hostPortOrBracketedIpv6() {
        assertThat(ClientCommand.Address.parse("coord.example.org:50051")).isEqualTo(new ClientCommand.Address("coord.example.org", 50051));
        assertThat(ClientCommand.Address.parse("[::1]:50051")).isEqualTo(new ClientCommand.Address("::1", 50051));
        for (String bad : new String[] {"coord.example.org", "::1:50051", "host:0", "host:70000", "host:port", ":50051"}) {
            assertThatThrownBy(() -> ClientCommand.Address.parse(bad)).as(bad).isInstanceOf(CliException.class)
                    .hasMessageContaining("--coordinator must be HOST:PORT");
        }
    }
}
