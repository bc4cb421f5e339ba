package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerOnlyTest {
    @TempDir
    Path dir;

    @Test
    void concurrentUploadsCreatingOneSpoolDirectory_allSucceed_andItIsOwnerOnly() throws Exception {
        Path spool = dir.resolve("data/spool/round-000001");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int attempt = 0; attempt < 20; attempt++) {
                Path target = spool.resolveSibling("round-" + attempt);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Path>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return OwnerOnly.createDirectories(target);
                    }));
                }
                start.countDown();
                for (Future<Path> f : results) {
                    assertThat(f.get()).isEqualTo(target); // no FileAlreadyExistsException from the losers of the race
                }
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rwx------");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
