package io.pqfl.app.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Cli;
import io.pqfl.app.ConfigFileDefaults;
import io.pqfl.coordinator.TestFederation;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pqfl coordinator --roster FILE}: rounds sample among the file's clients, and a bad file starts nothing. */
class CoordinatorRosterCliTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private Path trust;

    @BeforeEach
    void keys() throws Exception {
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_44), dir.resolve("coord"));
        trust = Files.createDirectories(dir.resolve("trust"));
        for (String c : List.of("c1", "c2", "c3")) {
            Files.writeString(trust.resolve(c + ".pub"), KeyPem.encodePublic(Keys.generate(SignatureScheme.ML_DSA_44).verifyingKey()));
        }
    }

    private int run(String... args) {
        CommandLine cmd = Cli.commandLine(new CoordinatorCommand());
        ConfigFileDefaults.install(cmd, args);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    private String[] coordinator(Path roster, Path data, String... more) {
        List<String> args = new ArrayList<>(List.of("--key", dir.resolve("coord.key").toString(), "--plaintext",
                "--host", "127.0.0.1", "--port", "0", "--metrics-port", "-1", "--trust-dir", trust.toString(),
                "--data-dir", data.toString(), "--roster", roster.toString(), "--rounds", "1", "--round-timeout", "2s",
                "--no-final-evaluation", "--linger", "0s"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    @Test
    void roster_opensTheFirstRoundBeforeAnyClientSaysHello_andSamplesOnlyItsClients() throws Exception {
        Path roster = file("roster.txt", "# silos\nc1\n\n  c2  \n");
        Path data = dir.resolve("data");
        // Without the roster no round could open: no client is live, and the command would wait for them.
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> run(coordinator(roster, data, "--min-clients", "2")));
        assertThat(exit.get(60, TimeUnit.SECONDS)).as(err.toString()).isEqualTo(Cli.OK);

        assertThat(out.toString()).contains("rounds sample among the 2 clients of the roster " + roster)
                .contains("(2 with a key in " + trust).doesNotContain("no round can open")
                .contains("Finished: 1 rounds closed");
        try (var c = DriverManager.getConnection(DataDirectory.of(data).jdbcUrl());
             var rs = c.createStatement().executeQuery("SELECT sampled, state FROM rounds WHERE round = 1")) {
            assertThat(rs.next()).as("round 1 opened").isTrue();
            assertThat(rs.getString("sampled")).contains("c1").contains("c2").doesNotContain("c3");
        }
    }

    @Test
    void aRosterOfClientsNotEnrolled_saysAtStartThatNoRoundCanOpen() throws Exception {
        // A byte-order mark before the first id (as some editors write) is not part of it.
        Path roster = file("later.txt", "\ufeffc1\nsilo-7\nsilo-8\n");
        Path data = dir.resolve("data");
        java.util.concurrent.atomic.AtomicInteger exit = new java.util.concurrent.atomic.AtomicInteger(-1);
        Thread command = new Thread(() -> exit.set(run(coordinator(roster, data, "--min-clients", "2"))), "roster-cli");
        command.start();
        try {
            io.pqfl.coordinator.Await.until(java.time.Duration.ofSeconds(30), "the coordinator's start-up lines",
                    () -> out.toString().contains("no round can open") || !command.isAlive(), () -> out + "\n" + err);
            assertThat(out.toString()).contains("the 3 clients of the roster " + roster).contains("(1 with a key in " + trust)
                    .contains("no round can open until 2 of them are enrolled (--min-clients)");
            assertThat(command.isAlive()).as("it waits for them, having said so").isTrue();
        } finally {
            command.interrupt(); // ends the wait for the rounds; the server closes on the way out
            command.join(30_000);
        }
        assertThat(command.isAlive()).isFalse();
    }

    @Test
    void badRosters_areRefusedWithTheFileAndLine_andNothingStarts() throws Exception {
        Path data = dir.resolve("data");
        assertThat(run(coordinator(file("bad-id.txt", "c1\n../etc\n"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("bad-id.txt:2: '../etc' is not a client id");

        assertThat(run(coordinator(file("twice.txt", "c1\nc2\n# again\nc1\n"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("twice.txt:4: client c1 is already on the roster (line 1)");

        assertThat(run(coordinator(file("empty.txt", "# nobody yet\n\n"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("empty.txt names no client");

        assertThat(run(coordinator(dir.resolve("missing.txt"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("missing.txt: no such file");

        assertThat(run(coordinator(file("one.txt", "c1\n"), data, "--min-clients", "2"))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("the roster names 1 clients and a round needs");

        // A line far longer than an id (or a file with no line breaks at all) is refused, not read into memory.
        assertThat(run(coordinator(file("long.txt", "c1\n" + "x".repeat(5_000) + "\n"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("long.txt:2: longer than 1024 characters");

        // A control character in a line is escaped, not written raw to the terminal.
        assertThat(run(coordinator(file("ctl.txt", "c\u001b[2Jx\n"), data))).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("ctl.txt:1:").doesNotContain("\u001b");

        assertThat(data).doesNotExist();
    }
}
