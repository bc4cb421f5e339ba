package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.cli.TokenCommand;
import io.pqfl.crypto.cli.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data directory holds the ledger, the models and tokens: everything in it is its owner's alone. */
class FilePermissionsTest {
    @TempDir
    Path dir;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void databaseCheckpointsSpoolAndDirectories_areCreatedOwnerOnly() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            c1.submit(c1.task(10_000), tiny(1), 10);
            DataDirectory data = fed.config.dataDirectory();
            assertThat(mode(data.spool())).isEqualTo("rwx------");
            try (Stream<Path> spooled = Files.list(data.spool(1))) {
                assertThat(spooled.toList()).isNotEmpty().allSatisfy(f -> assertThat(mode(f)).isEqualTo("rw-------"));
            }
            c2.submit(c2.task(10_000), tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();

            assertThat(mode(data.root())).isEqualTo("rwx------");
            assertThat(mode(data.database())).isEqualTo("rw-------");
            assertThat(mode(data.checkpoints())).isEqualTo("rwx------");
            try (Stream<Path> files = Files.list(data.checkpoints())) {
                assertThat(files.toList()).hasSizeGreaterThanOrEqualTo(2)
                        .allSatisfy(f -> assertThat(mode(f)).isEqualTo("rw-------"));
            }
            try (Stream<Path> files = Files.list(data.root())) {
                assertThat(files.filter(f -> f.getFileName().toString().startsWith(DataDirectory.DATABASE)).toList())
                        .allSatisfy(f -> assertThat(mode(f)).isEqualTo("rw-------"));
            }
        }
    }

    @Test
    void tokenFile_isCreatedOwnerOnly_andAnExistingFileCostsNoToken() throws Exception {
        Path data = dir.resolve("data");
        Path token = dir.resolve("alice.token");
        String key = dir.resolve("coordinator").toString();
        TestFederation.writeKey(io.pqfl.crypto.Keys.generate(io.pqfl.crypto.SignatureScheme.ML_DSA_44), dir.resolve("coordinator"));
        assertThat(Cli.commandLine(new TokenCommand()).execute("create", "--data-dir", data.toString(), "--key", key + ".key",
                "--client-id", "alice", "--out", token.toString())).isEqualTo(Cli.OK);
        assertThat(mode(data)).isEqualTo("rwx------");
        assertThat(mode(token)).isEqualTo("rw-------");
        assertThat(Files.readString(token)).startsWith("pqfl-enroll-");

        var err = new java.io.StringWriter();
        var cmd = Cli.commandLine(new TokenCommand());
        cmd.setErr(new java.io.PrintWriter(err));
        assertThat(cmd.execute("create", "--data-dir", data.toString(), "--key", key + ".key", "--client-id", "bob",
                "--out", token.toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(token + " already exists");
        var listing = new java.io.StringWriter();
        var list = Cli.commandLine(new TokenCommand());
        list.setOut(new java.io.PrintWriter(listing));
        assertThat(list.execute("list", "--data-dir", data.toString())).isEqualTo(Cli.OK);
        assertThat(listing.toString()).contains("alice").doesNotContain("bob");
    }
}
