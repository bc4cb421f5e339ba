package io.pqfl.sim.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.privacy.DpSettings;
import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.sim.SimulationRunner;
import io.pqfl.sim.attack.AttackPlan;
import io.pqfl.sim.data.Partitioner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the report says per round about central differential privacy, from results the test makes up. */
class ReportWriterTest {
    @TempDir
    Path dir;

    private static SimulationRunner.Spec spec(String arm, DpSettings dp) {
        return new SimulationRunner.Spec(arm, SigningPolicy.SIGNED, SignatureScheme.ML_DSA_44, 3, 2, ModelCatalog.MLP,
                "fedavg", Map.of(), TrainingConfig.defaults(), Partitioner.Kind.IID, 0.5, 10, 1,
                SimulationRunner.Transport.IN_PROCESS, AttackPlan.none(), Duration.ofSeconds(5), null,
                io.pqfl.coordinator.aggregate.TrainingSchedule.CONSTANT, SimulationRunner.Scale.DEFAULT, dp);
    }

    private static SimulationRunner.Result result(SimulationRunner.Spec spec, List<SimulationRunner.Round> rounds,
                                                  double epsilon, double clip) {
        return new SimulationRunner.Result(spec, rounds, List.of(), Map.of(), 0.1, 0.5, 1000, "in-process", null, "mlp",
                null, epsilon, clip, 0, Double.NaN);
    }

    @Test
    void privateArms_haveEachRoundsEpsilonAndClipNorm_inResultsJsonAndTheReport_othersDoNot() throws Exception {
        DpSettings dp = new DpSettings(1.0, 0.5, 1e-5, 0, new DpSettings.AdaptiveClipping(0.5, 0.2, 1.0));
        SimulationRunner.Result privateArm = result(spec("private", dp), List.of(
                new SimulationRunner.Round("private", 1, true, 10, 3, 0, 0.4, 1.5, 5.3, 5.3, 0.5),
                new SimulationRunner.Round("private", 2, true, 10, 3, 0, 0.45, 1.4, 7.8, 5.3, 0.61),
                // skipped before anything was noised: nothing spent, nothing to show
                new SimulationRunner.Round("private", 3, false, 10, 0, 0, 0.45, 1.4)), 7.8, 0.7);
        SimulationRunner.Result plain = result(spec("plain", null), List.of(
                new SimulationRunner.Round("plain", 1, true, 10, 3, 0, 0.5, 1.2)), Double.NaN, Double.NaN);
        List<SimulationRunner.Result> results = List.of(privateArm, plain);
        ReportWriter.write(dir, Map.of("seed", 1), results, ReportWriter.summarize(results));

        JsonNode arms = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("arms");
        JsonNode rounds = arms.get(0).get("rounds");
        assertThat(rounds.get(0).get("epsilon").asDouble()).isEqualTo(5.3);
        assertThat(rounds.get(1).get("epsilon").asDouble()).isEqualTo(7.8);
        assertThat(rounds.get(1).get("roundEpsilon").asDouble()).isEqualTo(5.3);
        assertThat(rounds.get(1).get("clipNorm").asDouble()).isEqualTo(0.61);
        assertThat(rounds.get(2).has("epsilon")).isFalse();
        assertThat(arms.get(0).get("clipNorm").asDouble()).isEqualTo(0.7);
        assertThat(arms.get(0).get("epsilon").asDouble()).isEqualTo(7.8);
        JsonNode plainRound = arms.get(1).get("rounds").get(0);
        assertThat(plainRound.has("epsilon") || plainRound.has("roundEpsilon") || plainRound.has("clipNorm")).isFalse();
        assertThat(arms.get(1).has("epsilon")).isFalse();

        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("<h2>Differential privacy</h2>")
                .contains("<tr><td>private</td><td>2</td><td>0.450</td><td>7.8000</td><td>5.3000</td><td>0.6100</td></tr>")
                .contains("<tr><td>private</td><td>3</td><td>0.450</td><td>-</td><td>-</td><td>-</td></tr>")
                .doesNotContain("<tr><td>plain</td><td>1</td>");
        assertThat(ReportWriter.privacy(List.of(plain))).isEmpty();
    }

    @Test
    void theConsoleLineOfARound_saysWhatItSpent() {
        PrivacySpent dp = new PrivacySpent(2, 1.0, 3, 3, 0.61, 0.7, 1.0, 5.302, 7.8376, 1e-5);
        assertThat(SimulationRunner.Round.describe("ML-DSA-44", 2, true, 3, 0, dp)).isEqualTo(
                "ML-DSA-44: round 2 done (3 accepted, 0 rejected); DP epsilon 7.8376 (this round 5.3020) at delta 1.0E-5,"
                        + " 3/3 clipped to 0.6100");
        assertThat(SimulationRunner.Round.describe("ML-DSA-44", 2, false, 0, 1, null))
                .isEqualTo("ML-DSA-44: round 2 skipped (0 accepted, 1 rejected)");
    }

    @Test
    void theOverheadIsEachRoundAgainstTheSameUnsignedRound_reportedAsMedianAndRange() {
        SimulationRunner.Spec signed = spec("ML-DSA-44", null);
        SimulationRunner.Spec unsigned = new SimulationRunner.Spec("none", SigningPolicy.UNSIGNED_BASELINE,
                SignatureScheme.ML_DSA_44, 3, 3, ModelCatalog.MLP, "fedavg", Map.of(), TrainingConfig.defaults(),
                Partitioner.Kind.IID, 0.5, 10, 1, SimulationRunner.Transport.IN_PROCESS, AttackPlan.none(),
                Duration.ofSeconds(5), null, io.pqfl.coordinator.aggregate.TrainingSchedule.CONSTANT,
                SimulationRunner.Scale.DEFAULT, null);
        var a = result(signed, List.of(round("ML-DSA-44", 1, 110), round("ML-DSA-44", 2, 90), round("ML-DSA-44", 3, 130)),
                Double.NaN, Double.NaN);
        var b = result(unsigned, List.of(round("none", 1, 100), round("none", 2, 100), round("none", 3, 100)),
                Double.NaN, Double.NaN);
        ReportWriter.ArmSummary s = ReportWriter.summarize(List.of(a, b)).get(0);
        assertThat(s.overheadVsUnsignedPercent()).isEqualTo(10.0);
        assertThat(s.overheadLowPercent()).isEqualTo(-10.0);
        assertThat(s.overheadHighPercent()).isEqualTo(30.0);
        assertThat(ReportWriter.table(ReportWriter.summarize(List.of(a, b)))).contains("10.0 [-10.0, 30.0]");
        assertThat(ReportWriter.summarize(List.of(a, b)).get(1).overheadVsUnsignedPercent()).isNull();
    }

    private static SimulationRunner.Round round(String arm, long r, long wallMillis) {
        return new SimulationRunner.Round(arm, r, true, wallMillis, 3, 0, 0.5, 1.0);
    }
}
