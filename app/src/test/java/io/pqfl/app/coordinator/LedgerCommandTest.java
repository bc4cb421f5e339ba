package io.pqfl.app.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Cli;
import io.pqfl.coordinator.RecordedRun;
import io.pqfl.coordinator.store.LedgerForgery;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.testing.TestKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code pqfl ledger verify} on a real run ({@link RecordedRun}) and on a tampered copy of it: what it prints,
 * where it warns, and its exit codes. What the verifier detects is the coordinator's {@code LedgerTamperTest}.
 */
class LedgerCommandTest {
    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static RecordedRun recorded;
    private static VerifyingKey coordinatorKey;
    private static final SigningKey ATTACKER = TestKeys.otherKey(SignatureScheme.ML_DSA_65);

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void runAFederationWithRejectedUpdates() throws Exception {
        recorded = RecordedRun.twoRoundsWithRejections(run);
        coordinatorKey = recorded.coordinatorKey();
        KeyPem.writeVerifyingKey(coordinatorKey, run.resolve("coordinator.pub"));
        KeyPem.writeVerifyingKey(ATTACKER.verifyingKey(), run.resolve("attacker.pub"));
    }

    private int cli(String... args) {
        CommandLine cmd = Cli.commandLine(new LedgerCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void aRunWithDifferentialPrivacy_verifies_andShowsTheEpsilonItSpent() throws Exception {
        RecordedRun dp = RecordedRun.twoRoundsWithDp(dir.resolve("dp"));
        KeyPem.writeVerifyingKey(dp.coordinatorKey(), dir.resolve("dp.pub"));
        assertThat(cli("verify", dp.data().toString(), "--coordinator-key", dir.resolve("dp.pub").toString()))
                .isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("9 entries: 4 accepted updates, 0 rejected, 3 published models")
                .containsPattern("note: central differential privacy: 2 rounds' spending ledgered, each round's epsilon "
                        + "recomputed from its sampling rate and noise multiplier and each total at least what the ledgered "
                        + "rounds compose to; after round 2: epsilon 7\\.8376 at delta 1\\.0E-5 \\(that round: 5\\.3026 at "
                        + "sampling rate 1\\.000, noise multiplier 1\\.0, 2/2 updates clipped to [0-9.]+, next clip norm "
                        + "[0-9.]+\\)")
                .contains("OK:");
    }

    @Test
    void withThePinnedKey_reportsCoverage_withoutIt_warnsWhereTheKeyCameFrom() throws Exception {
        Path data = recorded.copyTo(dir);

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
    void rechainedLedger_exitsFailedNamingTheEntry() throws Exception {
        Path data = recorded.copyTo(dir);
        try (Connection c = RecordedRun.attack(data)) {
            LedgerForgery.deleteRejections(c, null);
        }

        assertThat(cli("verify", data.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED at entry 4: the model of round 1 was signed over ledger head");
        assertThat(List.of(out.toString().split("\n"))).noneMatch(l -> l.startsWith("OK"));
    }
}
