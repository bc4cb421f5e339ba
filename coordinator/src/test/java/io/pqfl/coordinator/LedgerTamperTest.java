package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.cli.LedgerCommand;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerForgery;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.cli.Cli;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * An operator who can write the coordinator's data directory tries to rewrite a real federation's history
 * after stopping the coordinator, with plain JDBC on its SQLite file: the append-only triggers dropped, the
 * hash chain recomputed with the ledger's own hash function. Each attempt must make {@code ledger verify}
 * fail and say why; what no signature covers yet (the entries after the newest signed model) is reported.
 *
 * <p>The federation (two clients, two rounds over a real socket) runs once; each test attacks its own copy.
 * Its ledger: 1 initial model, 2 rejected (c1), 3-4 accepted, 5 model of round 1, 6 rejected (c2), 7-8
 * accepted, 9 model of round 2, 10 rejected (a late update, after the last model).
 */
class LedgerTamperTest {
    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static Path pristine;
    private static VerifyingKey coordinatorKey;
    private static final SigningKey ATTACKER = TestKeys.otherKey(SignatureScheme.ML_DSA_65);

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void runAFederationWithRejectedUpdates() throws Exception {
        try (TestFederation fed = TestFederation.start(run, 2, b -> b.rounds(2))) {
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
        }
        pristine = run.resolve("data");
        KeyPem.writeVerifyingKey(coordinatorKey, run.resolve("coordinator.pub"));
        KeyPem.writeVerifyingKey(ATTACKER.verifyingKey(), run.resolve("attacker.pub"));
    }

    /** A copy of the finished federation's data directory for this test to attack. */
    private Path copyOfTheRun() throws IOException {
        Path copy = dir.resolve("data");
        try (Stream<Path> walk = Files.walk(pristine)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(pristine.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return copy;
    }

    /** The attacker's connection to the coordinator's database, with the append-only triggers dropped. */
    private static Connection attack(Path data) throws SQLException {
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("pqfl.db"));
        LedgerForgery.dropAppendOnlyTriggers(c);
        return c;
    }

    private static LedgerVerifier.Report verify(Path data, VerifyingKey pinned) throws SQLException {
        try (Database db = Database.open("jdbc:sqlite:" + data.resolve("pqfl.db"))) {
            return LedgerVerifier.verify(db, pinned, data.resolve("checkpoints"));
        }
    }

    private static LedgerVerifier.Report verifyDatabaseAlone(Path data) throws SQLException {
        try (Database db = Database.open("jdbc:sqlite:" + data.resolve("pqfl.db"))) {
            return LedgerVerifier.verify(db);
        }
    }

    private int cli(String... args) {
        CommandLine cmd = Cli.commandLine(new LedgerCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        }
    }

    /** Deletes every rejection and re-chains the rest; with a resigner, re-signs every model statement too. */
    private static void deleteRejections(Connection c, LedgerForgery.Resigner resigner) throws SQLException {
        execute(c, "DELETE FROM ledger WHERE kind = 'UPDATE_REJECTED'");
        execute(c, "UPDATE rounds SET rejected = 0");
        LedgerForgery.rechain(c, resigner);
    }

    /** The attacker's own key in the runs table and its public key table. */
    private static void replaceCoordinatorKey(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE runs SET coordinator_key_id = ?, coordinator_public_key = ?")) {
            ps.setString(1, ATTACKER.keyId().hex());
            ps.setBytes(2, ATTACKER.verifyingKey().encoded());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO public_keys (key_id, scheme, encoded) VALUES (?, ?, ?)")) {
            ps.setString(1, ATTACKER.keyId().hex());
            ps.setString(2, ATTACKER.scheme().displayName());
            ps.setBytes(3, ATTACKER.verifyingKey().encoded());
            ps.executeUpdate();
        }
    }

    private static SignedModel resignWithTheAttackersKey(ModelStatement s, LedgerHead head) {
        ModelStatement forged = new ModelStatement(s.federationId(), s.modelRound(), s.modelDigest(), s.parentModelDigest(),
                head, s.receipt(), ATTACKER.scheme(), ATTACKER.keyId());
        return new SignedModel(forged, Signer.create(ATTACKER).sign(forged.encode()));
    }

    /** Rewrites every checkpoint with the signed statement its round now has in the (forged) ledger. */
    private static void rewriteCheckpoints(Connection c, Path data) throws SQLException, IOException {
        try (PreparedStatement ps = c.prepareStatement("SELECT round, scheme, statement, signature FROM ledger "
                + "WHERE kind = 'MODEL_PUBLISHED'"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Path file = data.resolve("checkpoints").resolve(String.format("model-%06d.pqfl", rs.getLong(1)));
                SignedModel forged = new SignedModel(ModelStatement.decode(rs.getBytes(3)),
                        SignatureValue.of(SignatureScheme.parse(rs.getString(2)), rs.getBytes(4)));
                ModelFiles.write(file, ModelFiles.read(file).weights(), forged);
            }
        }
    }

    @Test
    void untamperedLedger_verifiesWithThePinnedKey_andSaysWhatTheSignaturesCover() throws Exception {
        LedgerVerifier.Report report = verify(copyOfTheRun(), coordinatorKey);

        assertThat(report.ok()).as(report.problem()).isTrue();
        assertThat(report.keySource()).isEqualTo(LedgerVerifier.KeySource.PINNED);
        assertThat(report.entries()).isEqualTo(10);
        assertThat(report.rejectedUpdates()).isEqualTo(3);
        assertThat(report.publishedModels()).isEqualTo(3);
        assertThat(report.checkpoints()).isEqualTo(3);
        // The model of round 2 is entry 9; the late rejection after it is covered by no signature yet.
        assertThat(report.coverage()).isEqualTo(new LedgerVerifier.Coverage(2, 9, 1));
    }

    @Test
    void deletingTheRejections_andRechaining_failsAtTheFirstModelSignedAfterThem() throws Exception {
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            deleteRejections(c, null);
        }

        LedgerVerifier.Report report = verify(data, coordinatorKey);

        assertThat(report.ok()).isFalse();
        // Entries 1 (initial model), 2-3 (accepted), 4: the model of round 1, signed over the head before the deletion.
        assertThat(report.firstBadSeq()).isEqualTo(4L);
        assertThat(report.problem()).contains("the model of round 1 was signed over ledger head")
                .contains("entries before it were removed, inserted or altered and the chain recomputed");
    }

    @Test
    void truncatingTheLastRound_failsOnItsSignedCheckpoint() throws Exception {
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            execute(c, "DELETE FROM ledger WHERE round = 2");
            execute(c, "DELETE FROM rounds WHERE round = 2");
        }

        LedgerVerifier.Report report = verify(data, coordinatorKey);

        assertThat(report.ok()).isFalse();
        assertThat(report.firstBadSeq()).isNull();
        assertThat(report.problem()).contains("checkpoint model-000002.pqfl holds the coordinator's signed model of round 2")
                .contains("which the ledger does not hold: the ledger was truncated or rewritten");
        // The database alone cannot show it: its chain and signatures are intact up to round 1.
        assertThat(verifyDatabaseAlone(data).ok()).isTrue();
    }

    @Test
    void truncatingAfterTheNewestSignedModel_isNotDetectable_theReportSaysWhatNoSignatureCovered() throws Exception {
        // The documented limit (docs/COORDINATOR.md, "Ledger"): the entries after the newest model are signed by nothing.
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            execute(c, "DELETE FROM ledger WHERE seq = 10");
        }

        LedgerVerifier.Report report = verify(data, coordinatorKey);

        assertThat(report.ok()).isTrue();
        assertThat(report.coverage()).isEqualTo(new LedgerVerifier.Coverage(2, 9, 0));
    }

    @Test
    void replacingTheCoordinatorKeyInTheDatabase_andResigningTheModels_failsOnTheCheckpoints_evenUnpinned()
            throws Exception {
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            replaceCoordinatorKey(c);
            deleteRejections(c, LedgerTamperTest::resignWithTheAttackersKey);
        }
        // The forged database is consistent with itself...
        assertThat(verifyDatabaseAlone(data).ok()).isTrue();

        // ...but the checkpoints hold the coordinator's own signatures.
        LedgerVerifier.Report unpinned = verify(data, null);
        assertThat(unpinned.ok()).isFalse();
        assertThat(unpinned.problem()).contains("checkpoint model-000000.pqfl does not verify with the coordinator key "
                + ATTACKER.keyId()).contains("signed by key " + coordinatorKey.keyId());

        LedgerVerifier.Report pinned = verify(data, coordinatorKey);
        assertThat(pinned.ok()).isFalse();
        assertThat(pinned.problem()).contains("the run's recorded coordinator key " + ATTACKER.keyId()
                + " is not the pinned coordinator key " + coordinatorKey.keyId());
    }

    @Test
    void replacingTheCoordinatorKey_andResigningLedgerAndCheckpoints_failsOnlyWithThePinnedKey() throws Exception {
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            replaceCoordinatorKey(c);
            deleteRejections(c, LedgerTamperTest::resignWithTheAttackersKey);
            rewriteCheckpoints(c, data);
        }

        // Everything in the directory now agrees with the attacker's key: this is what the unpinned warning is about.
        LedgerVerifier.Report unpinned = verify(data, null);
        assertThat(unpinned.ok()).as(unpinned.problem()).isTrue();
        assertThat(unpinned.keySource()).isEqualTo(LedgerVerifier.KeySource.FROM_DATABASE);
        assertThat(unpinned.rejectedUpdates()).isZero();

        LedgerVerifier.Report pinned = verify(data, coordinatorKey);
        assertThat(pinned.ok()).isFalse();
        assertThat(pinned.problem()).contains("the run's recorded coordinator key " + ATTACKER.keyId()
                + " is not the pinned coordinator key " + coordinatorKey.keyId());

        assertThat(cli("verify", data.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED: the run's recorded coordinator key " + ATTACKER.keyId()
                + " is not the pinned coordinator key " + coordinatorKey.keyId());
    }

    @Test
    void cli_withThePinnedKey_reportsCoverage_withoutIt_warnsWhereTheKeyCameFrom() throws Exception {
        Path data = copyOfTheRun();

        assertThat(cli("verify", data.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("10 entries: 4 accepted updates, 3 rejected, 3 published models")
                .contains("coordinator key " + coordinatorKey.keyId().hex() + ": pinned with --coordinator-key")
                .contains("3 checkpoints: each is a published model of the ledger")
                .contains("last signed round: 2, ledger entry 9 (its signature covers entries 1-8 through its ledger head); "
                        + "1 entry after it covered by no signature yet")
                .contains("OK:");
        assertThat(err.toString()).doesNotContain("WARNING");

        assertThat(cli("verify", data.toString())).isEqualTo(Cli.OK);
        assertThat(err.toString()).contains("WARNING: the coordinator key (" + coordinatorKey.keyId().hex()
                + ") was taken from the database being verified; pin it with --coordinator-key FILE");

        assertThat(cli("verify", data.toString(), "--coordinator-key", run.resolve("attacker.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED: the run's recorded coordinator key " + coordinatorKey.keyId()
                + " is not the pinned coordinator key " + ATTACKER.keyId());

        assertThat(cli("verify", data.toString(), "--coordinator-key", dir.resolve("missing.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("missing.pub: no such file");
    }

    @Test
    void cli_rechainedLedger_exitsFailedNamingTheEntry() throws Exception {
        Path data = copyOfTheRun();
        try (Connection c = attack(data)) {
            deleteRejections(c, null);
        }

        assertThat(cli("verify", data.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED at entry 4: the model of round 1 was signed over ledger head");
        assertThat(List.of(out.toString().split("\n"))).noneMatch(l -> l.startsWith("OK"));
    }
}
