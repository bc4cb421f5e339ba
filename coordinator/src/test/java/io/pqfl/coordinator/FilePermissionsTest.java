package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.store.DataDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory holds the ledger, the models and tokens: everything in it is its owner's alone. (Token
 * files that {@code pqfl token create --out} writes: the app's {@code CoordinatorCliTest}.)
 */
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
}
