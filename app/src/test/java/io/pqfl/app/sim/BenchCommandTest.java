package io.pqfl.app.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pqfl.app.Pqfl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void parseSize_understandsBinaryUnits_andRejectsNonsense() {
        assertThat(BenchCommand.parseSize("1KiB")).isEqualTo(1024);
        assertThat(BenchCommand.parseSize("100MiB")).isEqualTo(100L << 20);
        assertThat(BenchCommand.parseSize("4096")).isEqualTo(4096);
        assertThatThrownBy(() -> BenchCommand.parseSize("lots")).hasMessageContaining("bad payload size 'lots'");
    }

    @Test
    void bench_smallRun_printsTableAndWritesJsonAndCsv() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        int code = cmd.execute("bench", "--schemes", "Ed25519,ML-DSA-44", "--samples", "3", "--min-samples", "2",
                "--budget-ms", "10", "--payload-sizes", "1KiB,64KiB", "--out", dir.toString());
        assertThat(code).isZero();
        assertThat(out.toString()).contains("ML-DSA-44").contains("Ed25519").contains("PayloadHasher");

        JsonNode json = new ObjectMapper().readTree(dir.resolve("bench.json").toFile());
        assertThat(json.get("schemes")).hasSize(2);
        assertThat(json.get("schemes").get(1).get("signatureBytes").asInt()).isEqualTo(2420);
        assertThat(json.get("digests")).hasSize(10);
        assertThat(Files.readAllLines(dir.resolve("bench-schemes.csv"))).hasSize(3);
        assertThat(Files.readAllLines(dir.resolve("bench-digests.csv"))).hasSize(11);
        assertThat(dir.resolve("bench-latency.png")).isNotEmptyFile();
        assertThat(dir.resolve("bench-digests.png")).isNotEmptyFile();
    }

    @Test
    void pqfl_keysSubcommand_isWiredIn() {
        StringWriter out = new StringWriter();
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        assertThat(cmd.execute("keys", "schemes")).isZero();
        assertThat(out.toString()).contains("SLH-DSA-SHAKE-256f");
    }

    @Test
    void benchCoordinator_smallRun_verifiesEveryUpdateOnOneAndTwoThreads() {
        StringWriter out = new StringWriter();
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        assertThat(cmd.execute("bench-coordinator", "--scheme", "ML-DSA-44", "--small-clients", "4", "--large-clients", "2",
                "--large-mib", "2")).isZero();
        assertThat(out.toString()).contains("mlp (0.4 MB)").contains("synthetic (2.1 MB)").contains("(fedmedian)");
        String[] parts = out.toString().split("One update on one thread");
        assertThat(parts).hasSize(2);
        assertThat(parts[0].lines().filter(l -> l.startsWith("mlp") || l.startsWith("synthetic"))).hasSize(6);
        // Where one update's time goes, per model: receiving at least the digest it contains; the interleaved ratio
        // (the path also verifies a signature besides the digest) and the ceiling in (0, 1].
        List<String> breakdown = parts[1].lines().filter(l -> l.startsWith("mlp") || l.startsWith("synthetic")).toList();
        assertThat(breakdown).hasSize(2).allSatisfy(l -> {
            String[] f = l.substring(l.indexOf(')') + 1).trim().split("\\s+");
            double receive = Double.parseDouble(f[0]);
            double sha = Double.parseDouble(f[1]);
            double signature = Double.parseDouble(f[3]);
            assertThat(receive).isPositive();
            assertThat(sha).isPositive();
            assertThat(signature).isPositive();
            assertThat(Double.parseDouble(f[6])).isGreaterThan(0).isLessThanOrEqualTo(1);
            assertThat(Double.parseDouble(f[7])).isGreaterThan(0).isLessThanOrEqualTo(1);
        });
    }
}
