package io.pqfl.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concurrent appends share commits, and the chain stays one unbroken sequence with every caller's entry in it. */
class LedgerGroupCommitTest {
    @TempDir
    Path dir;

    private static Ledger.Draft draft(String client, String detail) {
        return new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, 1, client, null, null, null, null, null, "STALE_ROUND",
                detail);
    }

    @Test
    void concurrentAppends_formOneChain_andABadDraftFailsOnlyItsOwnCaller() throws Exception {
        int threads = 8;
        int each = 40;
        try (Database db = Database.open(DataDirectory.of(dir).jdbcUrl())) {
            Ledger ledger = new Ledger(db, Clock.systemUTC());
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CyclicBarrier start = new CyclicBarrier(threads);
            Set<Long> returned = ConcurrentHashMap.newKeySet();
            List<Future<Integer>> failures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                failures.add(pool.submit(() -> {
                    start.await();
                    int failed = 0;
                    for (int i = 0; i < each; i++) {
                        try {
                            // One draft without a kind, in the middle of everyone's appends: it cannot be stored.
                            Ledger.Draft d = thread == 3 && i == 20
                                    ? new Ledger.Draft(null, 1, "bad", null, null, null, null, null, null, "bad")
                                    : draft("c" + thread, thread + "/" + i);
                            LedgerEntry e = ledger.append(d);
                            assertThat(e.detail()).isEqualTo(thread + "/" + i); // each caller gets its own entry
                            returned.add(e.seq());
                        } catch (SQLException | RuntimeException e) {
                            failed++;
                        }
                    }
                    return failed;
                }));
            }
            int failed = 0;
            for (Future<Integer> f : failures) {
                failed += f.get();
            }
            pool.shutdown();

            assertThat(failed).isEqualTo(1);
            List<LedgerEntry> entries = ledger.entries();
            assertThat(entries).hasSize(threads * each - 1);
            assertThat(returned).hasSize(threads * each - 1);
            byte[] prev = new byte[Ledger.HASH_BYTES];
            for (int i = 0; i < entries.size(); i++) {
                LedgerEntry e = entries.get(i);
                assertThat(e.seq()).isEqualTo(i + 1);
                assertThat(Arrays.equals(e.prevHash(), prev)).as("entry %d links to the one before", e.seq()).isTrue();
                prev = e.entryHash();
            }
            assertThat(entries).noneMatch(e -> "bad".equals(e.detail()));
        }
    }
}
