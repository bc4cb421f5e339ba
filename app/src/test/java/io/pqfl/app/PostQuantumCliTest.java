package io.pqfl.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * The operator's path with the real commands: a federation CA, a coordinator serving TLS with the hybrid
 * key exchange and client certificates, one client admitted by its certificate (mutual TLS) and one
 * enrolled with a one-time token, a round of real training, and the ledger verified offline. Then the easy
 * path: the commands that {@code pqfl coordinator init} prints, run as printed; and plaintext only by name.
 */
class PostQuantumCliTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private static Run pqfl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private void ok(String... args) {
        Run r = pqfl(args);
        assertThat(r.exit()).as(String.join(" ", args) + "\n" + r.out() + r.err()).isZero();
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Splits a printed command line as a POSIX shell would (words, and '...' quoting). */
    private static List<String> words(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        boolean quoted = false;
        for (char ch : line.toCharArray()) {
            if (quoted) {
                if (ch == '\'') {
                    quoted = false;
                } else {
                    word.append(ch);
                }
            } else if (ch == ' ') {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
            } else {
                word = word == null ? new StringBuilder() : word;
                if (ch == '\'') {
                    quoted = true;
                } else {
                    word.append(ch);
                }
            }
        }
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }

    /** A printed {@code ./pqfl ...} command as arguments, with {@code extra} (sizes for a test) appended. */
    private static String[] asPrinted(List<String> printed, String... extra) {
        assertThat(printed.get(0)).isEqualTo("./pqfl");
        List<String> args = new ArrayList<>(printed.subList(1, printed.size()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void tlsFederation_certificateAndTokenClients_trainARound_ledgerVerifies() throws Exception {
        ok("pki", "init", "--ca", p("ca"));
        for (String name : List.of("coordinator", "alice", "dave")) {
            ok("keys", "generate", "--scheme", "ML-DSA-65", "--out", p(name));
        }
        ok("pki", "issue", "--ca", p("ca"), "--role", "coordinator", "--name", "coordinator", "--key", p("coordinator.pub"),
                "--dns", "localhost", "--ip", "127.0.0.1", "--out", p("coordinator.crt"));
        ok("pki", "issue", "--ca", p("ca"), "--role", "client", "--name", "alice", "--key", p("alice.pub"), "--out", p("alice.crt"));
        ok("token", "create", "--data-dir", p("data"), "--key", p("coordinator.key"), "--client-id", "dave", "--ttl", "1h",
                "--out", p("dave.token"));
        assertThat(Files.readString(dir.resolve("dave.token"))).startsWith("pqfl-enroll-");

        int port = freePort();
        // Three long-running commands at once: their own threads (the common pool may have only one on 2 cores).
        ExecutorService pool = Executors.newFixedThreadPool(3);
        CompletableFuture<Run> coordinator = CompletableFuture.supplyAsync(() -> pqfl("coordinator", "--key", p("coordinator.key"),
                "--data-dir", p("data"), "--host", "127.0.0.1", "--port", Integer.toString(port), "--metrics-port", "-1",
                "--rounds", "1", "--min-clients", "2", "--model", "mlp", "--round-timeout", "3m", "--linger", "2s", "--no-final-evaluation",
                "--tls-cert", p("coordinator.crt"), "--client-ca", p("ca/ca.crt"), "--client-crl", p("ca/ca.crl"),
                "--client-auth", "optional"), pool);
        String address = "127.0.0.1:" + port;
        CompletableFuture<Run> alice = CompletableFuture.supplyAsync(() -> pqfl("client", "--coordinator", address,
                "--client-id", "alice", "--key", p("alice.key"), "--coordinator-key", p("coordinator.pub"), "--partition", "0-1200",
                "--device", "cpu", "--poll", "5", "--tls-ca", p("ca/ca.crt"), "--cert", p("alice.crt")), pool);
        CompletableFuture<Run> dave = CompletableFuture.supplyAsync(() -> pqfl("client", "--coordinator", address,
                "--client-id", "dave", "--key", p("dave.key"), "--coordinator-key", p("coordinator.pub"), "--partition",
                "1200-2400", "--device", "cpu", "--poll", "5", "--tls-ca", p("ca/ca.crt"), "--enroll-token-file", p("dave.token")),
                pool);

        Run a = alice.get(5, TimeUnit.MINUTES);
        Run d = dave.get(5, TimeUnit.MINUTES);
        Run c = coordinator.get(5, TimeUnit.MINUTES);
        pool.shutdown();
        assertThat(a.exit()).as(a.out() + a.err()).isZero();
        assertThat(d.exit()).as(d.out() + d.err()).isZero();
        assertThat(c.exit()).as(c.out() + c.err()).isZero();
        assertThat(c.out()).contains("TLS 1.3, key exchange hybrid, client certificates optional").contains("Finished: 1 rounds");
        assertThat(a.out()).contains("1 updates accepted");
        assertThat(d.out()).contains("1 updates accepted");

        try (Database db = Database.open(DataDirectory.of(dir.resolve("data")).jdbcUrl())) {
            List<LedgerEntry> entries = new Ledger(db, Clock.systemUTC()).entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_CERTIFIED).extracting(LedgerEntry::clientId)
                    .containsExactly("alice");
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_ENROLLED).extracting(LedgerEntry::clientId)
                    .containsExactly("dave");
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
        }
        Run verify = pqfl("ledger", "verify", p("data"));
        assertThat(verify.exit()).as(verify.out() + verify.err()).isEqualTo(Cli.OK);

        // The token was one-time: a second enrollment with it is refused with the reason, and nothing is added.
        Run reuse = pqfl("token", "list", "--data-dir", p("data"));
        assertThat(reuse.out()).contains("dave").contains("by key");
        assertThat(DataDirectory.of(dir.resolve("data")).trust().resolve("dave.pub")).exists();
    }

    @Test
    void coordinatorInit_thePrintedCommandsAsTheyAre_runARoundOverHybridTls() throws Exception {
        int port = freePort();
        Run init = pqfl("coordinator", "init", "--dir", p("fed"), "--clients", "alice,bob", "--port", Integer.toString(port));
        assertThat(init.exit()).as(init.out() + init.err()).isZero();
        List<List<String>> printed = init.out().lines().filter(l -> l.startsWith("  ./pqfl ")).map(PostQuantumCliTest::words)
                .toList();
        List<String> coordinatorCommand = printed.stream().filter(c -> c.get(1).equals("coordinator")).findFirst().orElseThrow();
        List<List<String>> clientCommands = printed.stream().filter(c -> c.get(1).equals("client")).toList();
        assertThat(clientCommands).hasSize(2);

        // The coordinator logs each connection's key exchange (TlsInterceptor); the test listens in.
        Logger tlsLog = (Logger) LoggerFactory.getLogger("io.pqfl.coordinator.server.TlsInterceptor");
        ListAppender<ILoggingEvent> connections = new ListAppender<>();
        connections.start();
        tlsLog.addAppender(connections);
        tlsLog.setLevel(Level.INFO);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            // Only what sizes the run for a test is added: one round, small partitions, no metrics port, loopback only;
            // and the dashboard, with an ECDSA certificate as a browser would need.
            io.pqfl.coordinator.SelfSignedTls web = io.pqfl.coordinator.SelfSignedTls.create();
            web.write(dir.resolve("web.crt"), dir.resolve("web.key"));
            int dashboardPort = freePort();
            CompletableFuture<Run> coordinator = CompletableFuture.supplyAsync(() -> pqfl(asPrinted(coordinatorCommand,
                    "--host", "127.0.0.1", "--metrics-port", "-1", "--rounds", "1", "--round-timeout", "3m", "--linger", "2s",
                    "--no-final-evaluation", "--dashboard-port", Integer.toString(dashboardPort), "--dashboard-tls-cert",
                    p("web.crt"), "--dashboard-tls-key", p("web.key"))), pool);
            String state = dashboardState(web, dashboardPort);
            assertThat(state).contains("\"transport\":\"TLS 1.3, key exchange hybrid");
            List<CompletableFuture<Run>> clients = new ArrayList<>();
            for (int i = 0; i < clientCommands.size(); i++) {
                String[] args = asPrinted(clientCommands.get(i), "--partition", (i * 1200) + "-" + (i * 1200 + 1199), "--device",
                        "cpu", "--poll", "5");
                clients.add(CompletableFuture.supplyAsync(() -> pqfl(args), pool));
            }
            for (CompletableFuture<Run> client : clients) {
                Run r = client.get(5, TimeUnit.MINUTES);
                assertThat(r.exit()).as(r.out() + r.err()).isZero();
                assertThat(r.out()).contains("1 updates accepted");
            }
            Run c = coordinator.get(5, TimeUnit.MINUTES);
            assertThat(c.exit()).as(c.out() + c.err()).isZero();
            assertThat(c.out()).contains("TLS 1.3, key exchange hybrid, client certificates optional").contains("Finished: 1 rounds");
        } finally {
            pool.shutdownNow();
            tlsLog.detachAppender(connections);
            tlsLog.setLevel(null);
        }
        assertThat(connections.list).isNotEmpty().allSatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).contains("TLSv1.3").contains("X25519MLKEM768");
        });

        try (Database db = Database.open(DataDirectory.of(dir.resolve("fed/data")).jdbcUrl())) {
            List<LedgerEntry> entries = new Ledger(db, Clock.systemUTC()).entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.CLIENT_CERTIFIED).extracting(LedgerEntry::clientId)
                    .containsExactlyInAnyOrder("alice", "bob");
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
        }
        ok("ledger", "verify", p("fed/data"));
        // The directory is not overwritten by a second init.
        Run again = pqfl("coordinator", "init", "--dir", p("fed"));
        assertThat(again.exit()).isEqualTo(Cli.FAILED);
        assertThat(again.err()).contains(p("fed") + " already exists and is not empty");
    }

    /** GET /api/state over HTTPS (TLS 1.3, hybrid key exchange), trusting {@code web}; retried while the coordinator starts. */
    private static String dashboardState(io.pqfl.coordinator.SelfSignedTls web, int port) throws Exception {
        var sockets = web.clientContext(io.pqfl.transport.KeyExchange.HYBRID).getSocketFactory();
        io.pqfl.coordinator.RawHttp[] reply = new io.pqfl.coordinator.RawHttp[1];
        io.pqfl.coordinator.Await.until(java.time.Duration.ofSeconds(60), "the dashboard to answer over HTTPS", () -> {
            try {
                reply[0] = io.pqfl.coordinator.RawHttp.get(sockets, port, "127.0.0.1", "/api/state");
            } catch (java.io.IOException e) {
                return false; // not listening yet
            }
            return reply[0].status() == 200 && reply[0].header("X-Pqfl-Tls-Group").orElse("").equalsIgnoreCase("x25519mlkem768");
        }, () -> "last answer: " + (reply[0] == null ? "none" : reply[0].head()));
        return reply[0].head() + reply[0].body();
    }

    @Test
    void dashboardOptions_thatCannotWork_areRefused_exit2() {
        Run plaintext = pqfl("coordinator", "--key", p("coordinator.key"), "--plaintext", "--dashboard-port", "0",
                "--dashboard-tls-cert", p("web.crt"), "--dashboard-tls-key", p("web.key"));
        assertThat(plaintext.exit()).isEqualTo(Cli.USAGE);
        assertThat(plaintext.err()).contains("--dashboard-tls-cert needs TLS (--tls-cert)");
        Run alone = pqfl("coordinator", "--key", p("coordinator.key"), "--plaintext", "--dashboard-port", "0",
                "--dashboard-tls-cert", p("web.crt"));
        assertThat(alone.exit()).isEqualTo(Cli.USAGE);
        assertThat(alone.err()).contains("--dashboard-tls-cert and --dashboard-tls-key go together");
    }

    @Test
    void coordinatorAndClient_withoutTlsOrPlaintext_refuseToStart_exit2() {
        Run coordinator = pqfl("coordinator", "--key", p("coordinator.key"));
        assertThat(coordinator.exit()).isEqualTo(Cli.USAGE);
        assertThat(coordinator.err()).contains("no TLS configured: give --tls-cert/--tls-key (see `pqfl coordinator init`) or "
                + "--plaintext to serve unencrypted gRPC on purpose");
        Run both = pqfl("coordinator", "--key", p("coordinator.key"), "--plaintext", "--tls-cert", p("coordinator.crt"));
        assertThat(both.exit()).isEqualTo(Cli.USAGE);
        assertThat(both.err()).contains("--plaintext conflicts with --tls-cert");

        String[] client = {"client", "--coordinator", "localhost:50051", "--client-id", "alice", "--key", p("alice.key"),
            "--coordinator-key", p("coordinator.pub")};
        Run plain = pqfl(client);
        assertThat(plain.exit()).isEqualTo(Cli.USAGE);
        assertThat(plain.err()).contains("no TLS configured: give --tls-ca");
        Run mixed = pqfl(Stream.concat(Stream.of(client), Stream.of("--plaintext", "--tls-key-exchange", "pq-only"))
                .toArray(String[]::new));
        assertThat(mixed.exit()).isEqualTo(Cli.USAGE);
        assertThat(mixed.err()).contains("--plaintext conflicts with --tls-key-exchange");
    }
}
