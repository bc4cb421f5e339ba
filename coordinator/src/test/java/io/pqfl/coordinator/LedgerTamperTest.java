package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.LedgerForgery;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator who can write the coordinator's data directory tries to rewrite a real federation's history
 * after stopping the coordinator, with plain JDBC on its SQLite file: the append-only triggers dropped, the
 * hash chain recomputed with the ledger's own hash function. Each attempt must make the ledger verifier
 * fail and say why; what no signature covers yet (the entries after the newest signed model) is reported.
 *
 * <p>The federation ({@link RecordedRun}) runs once; each test attacks its own copy. What {@code pqfl ledger
 * verify} prints about such a run is the app's {@code LedgerCommandTest}.
 */
class LedgerTamperTest {
    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static RecordedRun recorded;
    private static VerifyingKey coordinatorKey;
    private static final SigningKey ATTACKER = TestKeys.otherKey(SignatureScheme.ML_DSA_65);

    @BeforeAll
    static void runAFederationWithRejectedUpdates() throws Exception {
        recorded = RecordedRun.twoRoundsWithRejections(run);
        coordinatorKey = recorded.coordinatorKey();
    }

    /** A copy of the finished federation's data directory for this test to attack. */
    private Path copyOfTheRun() throws IOException {
        return recorded.copyTo(dir);
    }

    private static Connection attack(Path data) throws SQLException {
        return RecordedRun.attack(data);
    }

    private static LedgerVerifier.Report verify(Path data, VerifyingKey pinned) throws SQLException {
        try (Database db = Database.open(DataDirectory.of(data).jdbcUrl())) {
            return LedgerVerifier.verify(db, pinned, DataDirectory.of(data).checkpoints());
        }
    }

    private static LedgerVerifier.Report verifyDatabaseAlone(Path data) throws SQLException {
        try (Database db = Database.open(DataDirectory.of(data).jdbcUrl())) {
            return LedgerVerifier.verify(db);
        }
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        }
    }

    private static void deleteRejections(Connection c, LedgerForgery.Resigner resigner) throws SQLException {
        LedgerForgery.deleteRejections(c, resigner);
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
                Path file = DataDirectory.of(data).checkpoint(rs.getLong(1));
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
    }
}
