package io.pqfl.app.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import java.nio.file.Files;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pqfl client}'s command line: plaintext only by name. A real client run is in PostQuantumCliTest. */
class ClientCommandTest {
    @TempDir
    Path dir;

    private final StringWriter err = new StringWriter();

    private int run(String... extra) {
        CommandLine cmd = Cli.commandLine(new ClientCommand());
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        String[] args = Stream.concat(Stream.of("--coordinator", "localhost:50051", "--client-id", "alice",
                "--key", dir.resolve("alice.key").toString(), "--coordinator-key", dir.resolve("coordinator.pub").toString()),
                Stream.of(extra)).toArray(String[]::new);
        return cmd.execute(args);
    }

    @Test
    void withoutTlsCaOrPlaintext_refusesToStart_exit2_sayingWhatToGive() {
        assertThat(run()).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("no TLS configured: give --tls-ca (the federation CA certificate; see "
                + "`pqfl coordinator init`) or --plaintext to connect with unencrypted gRPC on purpose");
        assertThat(run("--tls-crl", "ca.crl")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--tls-crl without --tls-ca: give --tls-ca");
    }

    @Test
    void plaintextWithTlsOptions_conflict_exit2_namingThem() {
        assertThat(run("--plaintext", "--tls-ca", "ca.crt")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--plaintext conflicts with --tls-ca: give TLS options or --plaintext, not both");
        assertThat(run("--plaintext", "--tls-crl", "ca.crl", "--tls-key-exchange", "hybrid")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--plaintext conflicts with --tls-crl, --tls-key-exchange");
    }

    @Test
    void plaintextByName_passesTheCheck_thenFilesAreRead() {
        assertThat(run("--plaintext")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("alice.key: no such file").doesNotContain("TLS");
    }

    /** Unencrypted key files for alice and the coordinator, so that a run gets as far as choosing its trainer. */
    private void keys() throws Exception {
        io.pqfl.crypto.KeyPem.writeKeyPair(io.pqfl.crypto.Keys.generate(io.pqfl.crypto.SignatureScheme.ML_DSA_44),
                dir.resolve("alice.key"), dir.resolve("alice.pub"), null);
        io.pqfl.crypto.KeyPem.writeKeyPair(io.pqfl.crypto.Keys.generate(io.pqfl.crypto.SignatureScheme.ML_DSA_44),
                dir.resolve("coordinator.key"), dir.resolve("coordinator.pub"), null);
    }

    @Test
    void unknownTrainer_failsBeforeConnecting_listingTheKnownOnes() throws Exception {
        keys();
        assertThat(run("--plaintext", "--trainer", "nosuch")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("no trainer named 'nosuch' on the class path; known trainers: djl (");
        assertThat(run("--plaintext", "--trainer", "com.example.Missing", "--trainer-jar", dir.resolve("none.jar").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("none.jar does not exist");
    }

    @Test
    void djlTrainerOptions_areChecked_andTheTaskIsGivenOnce() throws Exception {
        keys();
        assertThat(run("--plaintext", "--trainer-option", "modle=cnn")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown trainer option 'modle'; known options: block-factory");
        assertThat(run("--plaintext", "--task", "binary", "--trainer-option", "task=regression")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--task and --trainer-option task=... both given");
        assertThat(run("--plaintext", "--task", "ranking")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("unknown task 'ranking'");
    }

    @Test
    void badData_isRefusedBeforeJoining_namingFileLineAndColumn() throws Exception {
        KeyPem.writeKeyPair(Keys.generate(SignatureScheme.ML_DSA_44), dir.resolve("alice.key"), dir.resolve("alice.pub"), null);
        KeyPem.writeKeyPair(Keys.generate(SignatureScheme.ML_DSA_44), dir.resolve("coordinator.key"),
                dir.resolve("coordinator.pub"), null);
        Path csv = dir.resolve("mine.csv");
        Files.writeString(csv, "age,bmi,outcome\n50,31.2,1\n61,,0\n");
        assertThat(run("--plaintext", "--data", csv.toString(), "--label-column", "outcome")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(csv + " line 3, column 'bmi': missing value");
        assertThat(run("--plaintext", "--data", csv.toString(), "--label-column", "target")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(csv + ": no label column 'target'; the columns are: age, bmi, outcome");
        assertThat(run("--plaintext", "--data", csv.toString(), "--task", "clustering")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--task: unknown task 'clustering': use classification, binary, regression, regression-l1");
        assertThat(run("--plaintext", "--data", dir.toString(), "--image-size", "64")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--image-size must be HxW (e.g. 64x64), got '64'");
    }

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
