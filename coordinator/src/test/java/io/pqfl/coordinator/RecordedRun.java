package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerForgery;
import io.pqfl.crypto.VerifyingKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * A finished federation whose ledger holds every kind of entry, for tests of what {@code ledger verify} finds:
 * two clients, two rounds over a real socket, recorded once and copied for each test that attacks it. Its
 * ledger: 1 initial model, 2 rejected (c1), 3-4 accepted, 5 model of round 1, 6 rejected (c2), 7-8 accepted,
 * 9 model of round 2, 10 rejected (a late update, after the last model).
 *
 * @param data the run's data directory
 * @param coordinatorKey the key the coordinator signed with (what an operator pins)
 */
public record RecordedRun(Path data, VerifyingKey coordinatorKey) {
    /** Runs the federation in {@code dir} (its data directory is {@code dir/data}). */
    public static RecordedRun twoRoundsWithRejections(Path dir) throws Exception {
        VerifyingKey coordinatorKey;
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(2))) {
            coordinatorKey = fed.coordinatorKey.verifyingKey();
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask r1 = c1.task(15_000);
            assertThatThrownBy(() -> c1.submit(r1, tiny(1), 0)).isInstanceOf(StatusRuntimeException.class);
            c1.submit(r1, tiny(1), 5);
            c2.submit(c2.task(15_000), tiny(3), 5);
            // c2 was served in round 1, so its next task is round 2's.
            TestClient.ReceivedTask r2 = c2.task(15_000);
            assertThat(r2.header().getRound()).isEqualTo(2);
            assertThatThrownBy(() -> c2.submit(r2, tiny(3), 0)).isInstanceOf(StatusRuntimeException.class);
            c2.submit(r2, tiny(3), 5);
            TestClient.ReceivedTask r2c1 = c1.task(15_000);
            c1.submit(r2c1, tiny(1), 5);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            assertThatThrownBy(() -> c1.submit(r2c1, tiny(1), 5)).isInstanceOf(StatusRuntimeException.class);
            assertThat(fed.coordinator.ledger().entries()).extracting(LedgerEntry::kind).containsExactly(
                    LedgerEntry.Kind.MODEL_PUBLISHED, LedgerEntry.Kind.UPDATE_REJECTED, LedgerEntry.Kind.UPDATE_ACCEPTED,
                    LedgerEntry.Kind.UPDATE_ACCEPTED, LedgerEntry.Kind.MODEL_PUBLISHED, LedgerEntry.Kind.UPDATE_REJECTED,
                    LedgerEntry.Kind.UPDATE_ACCEPTED, LedgerEntry.Kind.UPDATE_ACCEPTED, LedgerEntry.Kind.MODEL_PUBLISHED,
                    LedgerEntry.Kind.UPDATE_REJECTED);
            return new RecordedRun(fed.config.dataDir(), coordinatorKey);
        }
    }

    /** Central DP with adaptive clipping in {@link #twoRoundsWithDp}: z = 1, C from 0.5, quantile 0.5, sigma_b = 1. */
    public static final io.pqfl.coordinator.privacy.DpSettings DP = new io.pqfl.coordinator.privacy.DpSettings(1.0, 0.5,
            1e-5, 0, new io.pqfl.coordinator.privacy.DpSettings.AdaptiveClipping(0.5, 0.2, 1.0));

    /**
     * Two clients, two rounds with central DP ({@link #DP}) over a real socket. Its ledger: 1 initial model; per round
     * 2 accepted updates, the round's PRIVACY_SPENT and its model (entries 2-5 and 6-9).
     */
    /** c1 and c2 say Hello and send updates tiny(1) and tiny(3) (5 examples each) in rounds 1 and 2; the run finishes. */
    static void trainTwoRounds(TestFederation fed) throws Exception {
        TestClient c1 = fed.client("c1");
        TestClient c2 = fed.client("c2");
        c1.hello();
        c2.hello();
        for (int round = 1; round <= 2; round++) {
            c1.submit(c1.task(15_000), tiny(1), 5);
            c2.submit(c2.task(15_000), tiny(3), 5);
        }
        assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
    }

    public static RecordedRun twoRoundsWithDp(Path dir) throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(2).differentialPrivacy(DP))) {
            trainTwoRounds(fed);
            assertThat(fed.coordinator.ledger().entries()).extracting(LedgerEntry::kind).containsExactly(
                    LedgerEntry.Kind.MODEL_PUBLISHED, LedgerEntry.Kind.UPDATE_ACCEPTED, LedgerEntry.Kind.UPDATE_ACCEPTED,
                    LedgerEntry.Kind.PRIVACY_SPENT, LedgerEntry.Kind.MODEL_PUBLISHED, LedgerEntry.Kind.UPDATE_ACCEPTED,
                    LedgerEntry.Kind.UPDATE_ACCEPTED, LedgerEntry.Kind.PRIVACY_SPENT, LedgerEntry.Kind.MODEL_PUBLISHED);
            return new RecordedRun(fed.config.dataDir(), fed.coordinatorKey.verifyingKey());
        }
    }

    /** A copy of the run's data directory, {@code dir/data}, for one test to attack. */
    public Path copyTo(Path dir) throws IOException {
        Path copy = dir.resolve("data");
        try (Stream<Path> walk = Files.walk(data)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(data.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return copy;
    }

    /** The attacker's connection to a data directory's database, with the append-only triggers dropped. */
    public static Connection attack(Path data) throws SQLException {
        Connection c = DriverManager.getConnection(DataDirectory.of(data).jdbcUrl());
        LedgerForgery.dropAppendOnlyTriggers(c);
        return c;
    }
}
