package io.pqfl.app.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.app.Cli;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.WrongPasswordException;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pqfl coordinator init}: the files it creates, and what it refuses. The commands it prints run in PostQuantumCliTest. */
class CoordinatorInitCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int init(String... args) {
        CommandLine cmd = Cli.commandLine(new CoordinatorCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        String[] all = Stream.concat(Stream.of("init"), Stream.of(args)).toArray(String[]::new);
        return cmd.execute(all);
    }

    private static String mode(Path file) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }

    @Test
    void init_createsCaCoordinatorAndClients_privateKeysOwnerOnly_printsTheCommands() throws Exception {
        Path fed = dir.resolve("fed");
        assertThat(init("--dir", fed.toString(), "--federation-id", "hospitals", "--hosts", "coord.example.org,localhost,10.0.0.5",
                "--port", "50099", "--clients", "alice,bob")).as(err.toString()).isZero();

        for (String f : List.of("ca/ca.crt", "ca/ca.key", "ca/ca.pub", "ca/ca.crl", "ca/index.tsv", "coordinator.key",
                "coordinator.pub", "coordinator.crt", "clients/alice/alice.key", "clients/alice/alice.pub",
                "clients/alice/alice.crt", "clients/alice/ca.crt", "clients/alice/coordinator.pub", "clients/bob/bob.key",
                "clients/bob/bob.crt")) {
            assertThat(fed.resolve(f)).as(f).isRegularFile();
        }
        for (String f : List.of("ca/ca.key", "coordinator.key", "clients/alice/alice.key", "clients/bob/bob.key")) {
            assertThat(mode(fed.resolve(f))).as(f).isEqualTo("rw-------");
        }
        assertThat(fed.resolve("data")).doesNotExist(); // the coordinator creates its data directory itself

        // The coordinator's certificate: from the CA, for the hosts, carrying the model-signing key (so it is also the TLS key).
        CertificateChecker checker = CertificateChecker.load(fed.resolve("ca/ca.crt"), fed.resolve("ca/ca.crl"), Clock.systemUTC());
        SigningKey coordinatorKey = KeyPem.readSigningKey(fed.resolve("coordinator.key"), null);
        assertThat(coordinatorKey.scheme()).isEqualTo(SignatureScheme.ML_DSA_65);
        X509Certificate tls = Certificates.read(fed.resolve("coordinator.crt"));
        assertThat(checker.check(tls, Role.COORDINATOR, null)).isEqualTo(coordinatorKey.verifyingKey());
        assertThat(tls.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()))
                .containsExactlyInAnyOrder("coord.example.org", "localhost", "10.0.0.5");
        assertThat(KeyPem.readVerifyingKey(fed.resolve("clients/alice/coordinator.pub"))).isEqualTo(coordinatorKey.verifyingKey());
        assertThat(Files.readString(fed.resolve("clients/alice/ca.crt"))).isEqualTo(Files.readString(fed.resolve("ca/ca.crt")));
        // Each client's certificate names it and carries the key that signs its updates.
        for (String id : List.of("alice", "bob")) {
            SigningKey key = KeyPem.readSigningKey(fed.resolve("clients/" + id + "/" + id + ".key"), null);
            assertThat(checker.check(Certificates.read(fed.resolve("clients/" + id + "/" + id + ".crt")), Role.CLIENT, id))
                    .isEqualTo(key.verifyingKey());
        }

        String printed = out.toString();
        assertThat(printed).contains("./pqfl coordinator --federation-id hospitals --key " + fed.resolve("coordinator.key")
                + " --port 50099 --data-dir " + fed.resolve("data") + " --tls-cert " + fed.resolve("coordinator.crt")
                + " --client-ca " + fed.resolve("ca/ca.crt") + " --client-crl " + fed.resolve("ca/ca.crl") + " --client-auth optional");
        Path alice = fed.resolve("clients/alice");
        assertThat(printed).contains("./pqfl client --coordinator coord.example.org:50099 --client-id alice --key "
                + alice.resolve("alice.key") + " --cert " + alice.resolve("alice.crt") + " --tls-ca " + alice.resolve("ca.crt")
                + " --coordinator-key " + alice.resolve("coordinator.pub"));
        assertThat(printed.lines().filter(l -> l.startsWith("  ./pqfl client "))).hasSize(2);
        assertThat(printed).doesNotContain("PRIVATE");
    }

    @Test
    void init_withPasswordFile_encryptsTheKeys_andThePrintedCommandsCarryIt() throws Exception {
        Path pw = dir.resolve("pw.txt");
        Files.writeString(pw, "correct horse\n");
        Path fed = dir.resolve("fed");
        assertThat(init("--dir", fed.toString(), "--clients", "alice", "--password-file", pw.toString())).as(err.toString()).isZero();

        assertThatThrownBy(() -> KeyPem.readSigningKey(fed.resolve("coordinator.key"), null)).isInstanceOf(WrongPasswordException.class);
        assertThat(KeyPem.readSigningKey(fed.resolve("coordinator.key"), "correct horse".toCharArray())).isNotNull();
        assertThatThrownBy(() -> KeyPem.readSigningKey(fed.resolve("ca/ca.key"), null)).isInstanceOf(WrongPasswordException.class);
        assertThat(KeyPem.readSigningKey(fed.resolve("clients/alice/alice.key"), "correct horse".toCharArray())).isNotNull();
        assertThat(out.toString().lines().filter(l -> l.startsWith("  ./pqfl ")))
                .hasSize(2).allSatisfy(l -> assertThat(l).contains(" --password-file " + pw + " "));
        assertThat(out.toString()).doesNotContain("correct horse");
    }

    @Test
    void init_existingNonEmptyDirectory_refusedNamingIt_nothingWritten() throws Exception {
        Path fed = Files.createDirectories(dir.resolve("fed"));
        Files.writeString(fed.resolve("notes.txt"), "mine");

        assertThat(init("--dir", fed.toString(), "--clients", "alice")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(fed + " already exists and is not empty; refusing to overwrite it");
        try (Stream<Path> files = Files.list(fed)) {
            assertThat(files).containsExactly(fed.resolve("notes.txt"));
        }
        // A file in the way is refused too; an empty directory is fine.
        assertThat(init("--dir", fed.resolve("notes.txt").toString())).isEqualTo(Cli.FAILED);
        assertThat(Files.readString(fed.resolve("notes.txt"))).isEqualTo("mine");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThat(init("--dir", empty.toString())).as(err.toString()).isZero();
        assertThat(empty.resolve("coordinator.crt")).isRegularFile();
        assertThat(out.toString()).contains("pqfl pki issue --ca " + empty.resolve("ca") + " --role client");
    }

    @Test
    void init_badArguments_usageErrors_nothingCreated() {
        Path fed = dir.resolve("fed");
        assertThat(init("--dir", fed.toString(), "--clients", "alice,no spaces")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("'no spaces' is not a valid client id");
        assertThat(init("--dir", fed.toString(), "--clients", "alice,alice")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--clients names 'alice' twice");
        assertThat(init("--dir", fed.toString(), "--scheme", "Falcon-512")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("init uses ML-DSA");
        assertThat(init("--dir", fed.toString(), "--hosts", "localhost,300.1.2.3")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("'300.1.2.3' is not a valid IP address");
        assertThat(init("--dir", fed.toString(), "--hosts", "bad_host!")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("'bad_host!' is neither a host name nor an IP address");
        assertThat(init("--dir", fed.toString(), "--federation-id", "a b")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("invalid federation id 'a b'");
        assertThat(init()).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("Missing required option: '--dir=DIR'");
        assertThat(fed).doesNotExist();
    }
}
