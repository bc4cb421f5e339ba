package io.pqfl.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.Await;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator host needs no libtorch: the coordinator host's classpath (what {@code app/target/lib-coordinator/}
 * holds; Maven writes the same selection, by the same exclusions in the app's pom, to
 * {@code target/coordinator-host.classpath}) has no DJL, PyTorch or chart jar, and {@code pqfl coordinator} runs on
 * it, built-in model included. The {@code pqfl} launcher sends exactly {@link CoordinatorHost}'s commands there.
 */
class CoordinatorHostClasspathTest {
    /** DJL (api, PyTorch engine, JNI and native library) and xchart, as Maven resolves them. */
    private static final Pattern DJL_OR_CHARTS = Pattern.compile(".*/(ai/djl|ai/djl/pytorch|org/knowm/xchart)/.*");

    @TempDir
    Path dir;

    private static List<String> hostClasspath;

    @BeforeAll
    static void readTheCoordinatorHostClasspath() throws IOException {
        Path file = Path.of("target", "coordinator-host.classpath");
        assertThat(file).as("written by the build (generate-test-resources); run the tests through Maven").exists();
        hostClasspath = new ArrayList<>(Arrays.asList(Files.readString(file).trim().split(File.pathSeparator)));
        // The app's own classes: pqfl-coordinator.jar holds the same.
        hostClasspath.add(0, Path.of("target", "classes").toAbsolutePath().toString());
    }

    @Test
    void hostClasspath_hasNoDjlPytorchOrChartJar_butEverythingTheCoordinatorNeeds() {
        assertThat(hostClasspath).noneMatch(e -> DJL_OR_CHARTS.matcher(e.replace(File.separatorChar, '/')).matches());
        assertThat(hostClasspath).anyMatch(e -> e.contains("pqfl-coordinator") || e.contains("/coordinator/target/classes"))
                .anyMatch(e -> e.contains("picocli")).anyMatch(e -> e.contains("bctls")).anyMatch(e -> e.contains("sqlite-jdbc"));
        // The exclusions do something: the test's own classpath (everything the app depends on) has them.
        assertThat(System.getProperty("java.class.path").split(File.pathSeparator))
                .anyMatch(e -> DJL_OR_CHARTS.matcher(e.replace(File.separatorChar, '/')).matches());
    }

    @Test
    void coordinatorHelp_andACoordinatorWithTheBuiltInModel_runOnTheHostClasspath() throws Exception {
        Run help = pqfl("coordinator", "--help");
        assertThat(help.exit()).as(help.output()).isZero();
        assertThat(help.output()).contains("--initial-model").contains("--model");

        Run keys = pqfl("keys", "generate", "--scheme", "ML-DSA-65", "--out", dir.resolve("coordinator").toString());
        assertThat(keys.exit()).as(keys.output()).isZero();
        // Builds the MLP's initial weights (the client module's catalogue, without DJL), signs and checkpoints them.
        Process coordinator = start(List.of("coordinator", "--key", dir.resolve("coordinator.key").toString(), "--plaintext",
                "--host", "127.0.0.1", "--port", "0", "--metrics-port", "-1", "--data-dir", dir.resolve("data").toString(),
                "--model", "mlp", "--rounds", "1", "--min-clients", "1"));
        try {
            Path log = dir.resolve("coordinator.log");
            // Until the command says where it listens (the server's own "listening on port" line comes first), or the
            // process dies (the assertion below then shows why).
            Await.until(Duration.ofSeconds(60), "the coordinator to say it listens on 127.0.0.1",
                    () -> !coordinator.isAlive() || Files.readString(log).contains("listening on 127.0.0.1:"),
                    () -> readQuietly(log));
            assertThat(Files.readString(log)).as("the coordinator's output").contains("listening on 127.0.0.1:");
            assertThat(dir.resolve("data/checkpoints/model-000000.pqfl")).exists();
        } finally {
            coordinator.destroy();
            coordinator.waitFor(20, TimeUnit.SECONDS);
        }

        // The model commands run there too (the safetensors and statement JSON need only Jackson).
        Path exported = dir.resolve("initial.safetensors");
        Run export = pqfl("model", "export", "--data-dir", dir.resolve("data").toString(), "--out", exported.toString());
        assertThat(export.exit()).as(export.output()).isZero();
        Run verify = pqfl("model", "verify", exported.toString(), "--coordinator-key", dir.resolve("coordinator.pub").toString());
        assertThat(verify.exit()).as(verify.output()).isZero();
        assertThat(verify.output()).contains("OK: " + exported + " is the round 0 global model");
    }

    @Test
    void theLauncher_sendsExactlyTheCoordinatorHostsCommandsToThatClasspath() throws IOException {
        String launcher = Files.readString(Path.of("..", "pqfl"), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("(?m)^\\s*([a-z|]+)\\)\\s*\\n(?:\\s*#.*\\n)*(?:\\s*if .*\\n)?(?:\\s*#.*\\n)*"
                + "\\s*exec .*\\\\\\n.*io\\.pqfl\\.app\\.CoordinatorHost")
                .matcher(launcher);
        assertThat(m.find()).as("the launcher's case for the coordinator host").isTrue();
        assertThat(m.group(1).split("\\|")).containsExactlyInAnyOrderElementsOf(
                CoordinatorHost.commandLine().getSubcommands().keySet());
        assertThat(CoordinatorHost.commandLine().getSubcommands().keySet())
                .containsExactlyInAnyOrder("keys", "trust", "pki", "coordinator", "ledger", "token", "model");
        // The options that need DJL go to the full jar instead.
        assertThat(launcher).contains("grep -q -E -- '^--(torchscript|central-test-data)(=|$)'");
    }

    @Test
    void anOptionThatNeedsDjl_onTheCoordinatorHost_saysSoAndWhatToDo() throws Exception {
        Path pt = Path.of("..", "examples", "torchscript-cnn", "model", "fmnist_cnn.pt").toAbsolutePath();
        Path out = dir.resolve("cnn.safetensors");
        Run init = pqfl("model", "init", "--torchscript", pt.toString(), "--input-shape", "1,28,28", "--out", out.toString());
        assertThat(init.exit()).as(init.output()).isEqualTo(1);
        assertThat(init.output()).contains("--torchscript needs DJL and libtorch").contains("full pqfl launcher");
        assertThat(out).doesNotExist();
    }

    private record Run(int exit, String output) {
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }

    private Run pqfl(String... args) throws Exception {
        Process p = start(List.of(args));
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("pqfl " + String.join(" ", args) + " did not finish within 60 s");
        }
        return new Run(p.exitValue(), Files.readString(dir.resolve("coordinator.log")));
    }

    /** {@code CoordinatorHost ARGS} in a child JVM on the host classpath; its output goes to coordinator.log. */
    private Process start(List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", String.join(File.pathSeparator, hostClasspath), CoordinatorHost.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("coordinator.log").toFile()).start();
    }
}
