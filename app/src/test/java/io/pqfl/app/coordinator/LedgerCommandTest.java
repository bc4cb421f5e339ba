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

    @Test
    void anExport_holdsWhatItTakesToCheckEverySignature_verifiesOnItsOwn_andATamperedLineIsCaught() throws Exception {
        Path export = dir.resolve("ledger.jsonl");
        assertThat(cli("export", recorded.data().toString(), "--out", export.toString())).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("10 ledger entries exported to " + export);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> lines = java.nio.file.Files.readAllLines(export);
        var head = json.readTree(lines.get(0));
        assertThat(head.get("type").asText()).isEqualTo("run");
        assertThat(head.get("coordinatorKeyId").asText()).isEqualTo(coordinatorKey.keyId().hex());
        int checked = 0;
        int updates = 0;
        for (String line : lines) {
            var n = json.readTree(line);
            if (!"entry".equals(n.get("type").asText()) || n.get("signature") == null || n.get("signature").isNull()) {
                continue;
            }
            // each signature checks out from the line's own fields: statement bytes, signature, scheme, public key
            var key = VerifyingKey.fromEncoded(java.util.Base64.getDecoder().decode(n.get("publicKey").asText()));
            io.pqfl.crypto.Verifier.create(key).verify(java.util.Base64.getDecoder().decode(n.get("statement").asText()),
                    io.pqfl.crypto.SignatureValue.of(key.scheme(), java.util.Base64.getDecoder().decode(n.get("signature").asText())));
            checked++;
            if ("UPDATE_ACCEPTED".equals(n.get("kind").asText())) {
                updates++;
                assertThat(n.get("numExamples").asLong()).isPositive()
                        .isEqualTo(n.get("decoded").get("numExamples").asLong());
                assertThat(n.get("decoded").get("updateDigest").asText()).isEqualTo(n.get("payloadDigest").asText());
            }
        }
        assertThat(updates).isEqualTo(4);
        assertThat(checked).isGreaterThanOrEqualTo(4 + 3); // the updates and the published models at least

        out.getBuffer().setLength(0);
        assertThat(cli("verify", export.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("10 entries: 4 accepted updates, 3 rejected, 3 published models").contains("OK:");

        // a line changed after the export: its entry hash no longer matches
        Path tampered = dir.resolve("tampered.jsonl");
        List<String> changed = new java.util.ArrayList<>();
        boolean done = false;
        for (String line : lines) {
            if (!done && line.contains("\"kind\":\"UPDATE_REJECTED\"")) {
                var n = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(line);
                n.put("detail", "nothing happened");
                line = json.writeValueAsString(n);
                done = true;
            }
            changed.add(line);
        }
        java.nio.file.Files.write(tampered, changed);
        assertThat(cli("verify", tampered.toString(), "--coordinator-key", run.resolve("coordinator.pub").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("entry_hash does not match");
    }
}
