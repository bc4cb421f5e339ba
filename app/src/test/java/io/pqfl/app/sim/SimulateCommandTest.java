package io.pqfl.app.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pqfl.app.Cli;
import io.pqfl.app.Pqfl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SimulateCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int simulate(String... args) {
        List<String> all = new ArrayList<>(List.of("simulate", "--examples-per-client", "400", "--test-examples", "500",
                "--out", dir.toString()));
        all.addAll(List.of(args));
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(all.toArray(String[]::new));
    }

    private JsonNode arm(JsonNode results, String name) {
        for (JsonNode a : results.get("arms")) {
            if (a.get("arm").asText().equals(name)) {
                return a;
            }
        }
        throw new AssertionError("no arm " + name);
    }

    @Test
    void smallSimulation_writesConsistentCsvJsonPlotsAndHtml() throws Exception {
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44,none")).isEqualTo(Cli.OK);
        for (String f : List.of("results.csv", "results.json", "accuracy.png", "overhead.png", "latency.png", "bytes.png",
                "report.html")) {
            assertThat(dir.resolve(f)).isNotEmptyFile();
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
        assertThat(json.get("arms")).hasSize(2);
        for (JsonNode a : json.get("arms")) {
            assertThat(a.get("rounds")).hasSize(2);
            assertThat(a.get("clients")).hasSize(6); // 3 clients x 2 rounds
        }
        assertThat(arm(json, "ML-DSA-44").get("clients").get(0).get("signatureBytes").asInt()).isEqualTo(2420);
        // The default transport: every client connection negotiated the hybrid post-quantum key exchange.
        for (JsonNode a : json.get("arms")) {
            assertThat(a.get("channel").asText()).matches("TLS 1\\.3, X25519MLKEM768 \\(\\d+ connections\\)");
        }
        assertThat(arm(json, "none").get("clients").get(0).get("signatureBytes").asInt()).isZero();
        // Signing does not change what is learned: same seeds, same data, same model.
        assertThat(arm(json, "ML-DSA-44").get("rounds").get(1).get("accuracy").asDouble())
                .isEqualTo(arm(json, "none").get("rounds").get(1).get("accuracy").asDouble())
                .isGreaterThan(0.5);
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertThat(csv).hasSize(1 + 12);
        assertThat(csv.get(1)).startsWith("ML-DSA-44,ML-DSA-44,none,1,client-000");
        assertThat(Files.readString(dir.resolve("report.html"))).contains("<img src=\"accuracy.png\"").contains("ML-DSA-44");
        assertThat(out.toString()).contains("Report: ").contains("ARM");
    }

    @Test
    void differentialPrivacy_reportsTheAccountantsEpsilon() throws Exception {
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44", "--dp-noise-multiplier", "2.0",
                "--dp-clip", "1.0")).isEqualTo(Cli.OK);
        JsonNode a = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("arms").get(0);
        // every round samples all 3 clients (rate 1): epsilon of 2 Gaussian mechanisms with z = 2, delta 1e-5
        io.pqfl.coordinator.privacy.RdpAccountant ref = new io.pqfl.coordinator.privacy.RdpAccountant();
        ref.compose(1.0, 2.0, 2);
        assertThat(a.get("epsilon").asDouble()).isEqualTo(ref.epsilon(1e-5));
        assertThat(a.get("dpDelta").asDouble()).isEqualTo(1e-5);
        assertThat(out.toString()).contains("differential privacy: epsilon ");
        assertThat(a.get("rounds")).hasSize(2);
        // each round: the total so far, the round alone, and the fixed clip norm
        io.pqfl.coordinator.privacy.RdpAccountant one = new io.pqfl.coordinator.privacy.RdpAccountant();
        one.compose(1.0, 2.0, 1);
        for (int r = 0; r < 2; r++) {
            JsonNode round = a.get("rounds").get(r);
            io.pqfl.coordinator.privacy.RdpAccountant sofar = new io.pqfl.coordinator.privacy.RdpAccountant();
            sofar.compose(1.0, 2.0, r + 1);
            assertThat(round.get("epsilon").asDouble()).isEqualTo(sofar.epsilon(1e-5));
            assertThat(round.get("roundEpsilon").asDouble()).isEqualTo(one.epsilon(1e-5));
            assertThat(round.get("clipNorm").asDouble()).isEqualTo(1.0);
            assertThat(out.toString()).contains(String.format(java.util.Locale.ROOT,
                    "ML-DSA-44: round %d done (3 accepted, 0 rejected); DP epsilon %.4f (this round %.4f) at delta 1.0E-5",
                    r + 1, sofar.epsilon(1e-5), one.epsilon(1e-5)));
        }
        assertThat(Files.readString(dir.resolve("report.html"))).contains("<h2>Differential privacy</h2>");
    }

    @Test
    void moreClientsThanTheDataServes_areRefusedBeforeAnythingStarts_namingTheLimit() throws Exception {
        assertThat(simulate("--clients", "40000", "--clients-per-round", "10", "--rounds", "1")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(" would get 1 of the ").contains("every client needs at least 2")
                .contains("use at most ");
        assertThat(out.toString()).doesNotContain("[1/");
        assertThat(dir.resolve("results.json")).doesNotExist();
    }

    @Test
    void theFullLogGoesToTheRunDirectory_andTheConsoleKeepsOnlyErrors_untilTheRunEnds() throws Exception {
        var root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.classic.Level level = root.getLevel();
        root.setLevel(ch.qos.logback.classic.Level.INFO); // as pqfl runs by default (the tests' configuration says WARN)
        try {
            assertThat(simulate("--clients", "2", "--rounds", "1", "--schemes", "ML-DSA-44")).isEqualTo(Cli.OK);
        } finally {
            root.setLevel(level);
        }
        java.nio.file.Path log = dir.resolve("simulate.log");
        assertThat(java.nio.file.Files.readString(log)).contains("Round 1 open: 2 of 2 eligible clients on the roster sampled");
        assertThat(out.toString()).contains("Log: " + log.toAbsolutePath());
        // after the run: no file appender left behind, and the console's filters are as they were
        root.iteratorForAppenders().forEachRemaining(a -> {
            assertThat(a.getName()).isNotEqualTo("pqfl-run-log");
            assertThat(a.getCopyOfAttachedFiltersList()).isEmpty();
        });
    }

    @Test
    void secureAggregationWithDistributedDp_andLocalDp_reportTheirCostsAndEpsilon() throws Exception {
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44", "--secure-aggregation",
                "--dp-noise-multiplier", "2.0", "--dp-clip", "1.0")).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("secure aggregation: ").contains("2 of 2 rounds completed");
        JsonNode a = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("arms").get(0);
        // all 3 sampled and all 3 inputs arrived in both rounds: the effective multiplier is 2 at rate 1
        io.pqfl.coordinator.privacy.RdpAccountant ref = new io.pqfl.coordinator.privacy.RdpAccountant();
        ref.compose(1.0, 2.0, 2);
        assertThat(a.get("epsilon").asDouble()).isCloseTo(ref.epsilon(1e-5), org.assertj.core.data.Offset.offset(1e-9));
        assertThat(a.get("secAggCoordinatorMillis").asDouble()).isPositive();
        // and per round: round 1 alone, then both
        io.pqfl.coordinator.privacy.RdpAccountant one = new io.pqfl.coordinator.privacy.RdpAccountant();
        one.compose(1.0, 2.0, 1);
        assertThat(a.get("rounds").get(0).get("epsilon").asDouble()).isCloseTo(one.epsilon(1e-5),
                org.assertj.core.data.Offset.offset(1e-9));
        assertThat(a.get("rounds").get(1).get("epsilon").asDouble()).isCloseTo(ref.epsilon(1e-5),
                org.assertj.core.data.Offset.offset(1e-9));

        out.getBuffer().setLength(0);
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44", "--local-dp-noise-multiplier", "4.0",
                "--local-dp-clip", "1.0")).isEqualTo(Cli.OK);
        JsonNode l = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("arms").get(0);
        assertThat(l.get("localEpsilon").asDouble()).isEqualTo(io.pqfl.client.agent.LocalDp.epsilon(2, 4.0, 1e-5));
        assertThat(out.toString()).contains("local differential privacy: each client's epsilon at most");
        assertThat(simulate("--clients", "3", "--rounds", "1", "--local-dp-clip", "1.0")).isEqualTo(Cli.USAGE);
    }

    @Test
    void differentialPrivacy_withAdaptiveClipping_movesTheClipNormFromRoundToRound() throws Exception {
        // z = 2 needs a count noise std above 1: 3 clients per round would default to 3 / 20
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44", "--dp-noise-multiplier", "2.0",
                "--dp-clip", "1.0", "--dp-clip-quantile", "0.5")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("the default std for 3 clients per round is 3 / 20 = 0.15");
        assertThat(simulate("--clients", "3", "--rounds", "2", "--schemes", "ML-DSA-44", "--dp-noise-multiplier", "2.0",
                "--dp-clip", "1.0", "--dp-clip-quantile", "0.5", "--dp-clip-count-stddev", "1.5")).isEqualTo(Cli.OK);
        JsonNode a = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("arms").get(0);
        JsonNode rounds = a.get("rounds");
        assertThat(rounds.get(0).get("clipNorm").asDouble()).isEqualTo(1.0);
        // the count is noised, so where it goes is random; that it moved is not
        assertThat(rounds.get(1).get("clipNorm").asDouble()).isPositive().isNotEqualTo(1.0);
        assertThat(a.get("clipNorm").asDouble()).isPositive().isNotEqualTo(rounds.get(1).get("clipNorm").asDouble());
        // still accounted at z = 2: the updates got (2^-2 - 3^-2)^(-1/2) = 2.683
        io.pqfl.coordinator.privacy.RdpAccountant ref = new io.pqfl.coordinator.privacy.RdpAccountant();
        ref.compose(1.0, 2.0, 2);
        assertThat(a.get("epsilon").asDouble()).isEqualTo(ref.epsilon(1e-5));
        assertThat(out.toString()).contains("adapting to quantile 0.5: ended at ")
                .contains("updates noised at multiplier 2.683");
        assertThat(a.get("dp").asText()).contains("adaptive(quantile=0.5, lr=0.2, countStddev=1.5)");
    }

    @Test
    void differentialPrivacy_withMedian_isACliError() {
        assertThat(simulate("--clients", "3", "--rounds", "2", "--strategy", "fedmedian", "--dp-noise-multiplier", "1",
                "--dp-clip", "1")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("sum-based");
    }

    @Test
    void attacks_areRejectedWithSignatures_andReachTheModelWithout() throws Exception {
        assertThat(simulate("--clients", "6", "--rounds", "3", "--schemes", "ML-DSA-44,none", "--attack-tamper", "0.12",
                "--attack-replay", "0.12", "--attack-forge", "0.12", "--attack-unenrolled", "0.08", "--seed", "2")).isEqualTo(Cli.OK);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
        JsonNode clean = arm(json, "ML-DSA-44-clean");
        JsonNode signed = arm(json, "ML-DSA-44-attacked");
        JsonNode unsigned = arm(json, "none-attacked");
        int attackedSigned = 0;
        for (JsonNode c : signed.get("clients")) {
            String attack = c.get("attack").asText();
            if (!attack.equals("none")) {
                attackedSigned++;
                assertThat(c.get("accepted").asBoolean()).as(attack + " in round " + c.get("round")).isFalse();
                assertThat(c.get("reason").asText()).isIn("BAD_SIGNATURE", "SESSION_MISMATCH");
            } else {
                assertThat(c.get("accepted").asBoolean()).isTrue();
            }
        }
        assertThat(attackedSigned).isGreaterThanOrEqualTo(4);
        int tamperedAccepted = 0;
        for (JsonNode c : unsigned.get("clients")) {
            if (List.of("tamper", "forge").contains(c.get("attack").asText()) && c.get("accepted").asBoolean()) {
                tamperedAccepted++;
            }
        }
        assertThat(tamperedAccepted).isPositive();
        double cleanAcc = last(clean);
        double signedAcc = last(signed);
        double unsignedAcc = last(unsigned);
        // Rejected updates are lost to the round, so the signed run learns from fewer updates than the clean one.
        assertThat(signedAcc).isCloseTo(cleanAcc, org.assertj.core.data.Offset.offset(0.06));
        assertThat(unsignedAcc).isLessThan(signedAcc - 0.03);
    }

    private static double last(JsonNode arm) {
        JsonNode rounds = arm.get("rounds");
        return rounds.get(rounds.size() - 1).get("accuracy").asDouble();
    }

    @Test
    void cliErrors_unknownScheme_badPartition_missingData() {
        assertThat(simulate("--schemes", "ML-DSA-99")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown signature scheme 'ML-DSA-99'").contains("or none");
        assertThat(simulate("--partition", "dirichlet", "--alpha", "0")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("alpha must be > 0");
        assertThat(simulate("--partition", "zipf")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown partition 'zipf'");
        assertThat(simulate("--attack-tamper", "1.5")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("attack rates must be in [0, 1]");
        assertThat(simulate("--data", dir.resolve("nowhere").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("nowhere").contains("no such file");
    }

    @Test
    void csvData_isCheckedBeforeAnyArmRuns() throws Exception {
        java.nio.file.Path csv = dir.resolve("t.csv");
        java.nio.file.Files.writeString(csv, "a,b,label\n1,2,0\n3,x,1\n");
        assertThat(simulate("--data", csv.toString(), "--label-column", "label")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(csv + " line 3, column 'b': not a number: 'x'");
        java.nio.file.Files.writeString(csv, "a,b,label\n1,2,0\n3,4,1\n5,6,1\n");
        assertThat(simulate("--data", csv.toString(), "--label-column", "label")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("take 28x28 grey images (784 values) and classify; " + csv
                + " has examples of shape [2]");
        assertThat(simulate("--data", csv.toString(), "--test-fraction", "1")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--test-fraction must be in (0, 1), got 1.0");
    }
}
