package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same store code against PostgreSQL. Runs when PQFL_TEST_POSTGRES_URL names a database it may wipe
 * (.ci/run starts Debian's PostgreSQL and sets it); elsewhere it is skipped with that reason.
 */
@EnabledIfEnvironmentVariable(named = "PQFL_TEST_POSTGRES_URL", matches = ".+",
        disabledReason = "set PQFL_TEST_POSTGRES_URL=jdbc:postgresql://... to run the PostgreSQL store test")
class PostgresStoreTest {
    @TempDir
    Path dir;

    @Test
    void federationOnPostgres_roundCompletes_rejectionLedgered_ledgerVerifies_restartResumes() throws Exception {
        String url = System.getenv("PQFL_TEST_POSTGRES_URL");
        try (var c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS ledger, rounds, runs, public_keys");
        }
        TestFederation fed = TestFederation.start(dir, 2, b -> b.jdbcUrl(url).rounds(2));
        try {
            TestClient first = fed.client("c1");
            TestClient second = fed.client("c2");
            first.hello();
            second.hello();
            TestClient.ReceivedTask t1 = first.task(10_000);
            assertThatThrownBy(() -> first.submit(t1, tiny(1), 0)).isInstanceOf(StatusRuntimeException.class);
            first.submit(t1, tiny(1), 10);
            second.submit(second.task(10_000), tiny(3), 10);
            Await.until(Duration.ofSeconds(20), "round 1 to close", () -> fed.engine.status().closedRounds() >= 1);
            fed.restart();
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            c1.submit(c1.task(10_000), tiny(5), 10);
            c2.submit(c2.task(10_000), tiny(7), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThat(fed.global().tensor(0)).containsExactly(tiny(6).tensor(0));
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED).hasSize(1);
        } finally {
            fed.close();
        }
        LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(url));
        assertThat(report.ok()).as(report.problem()).isTrue();
        assertThat(report.acceptedUpdates()).isEqualTo(4);
    }
}
