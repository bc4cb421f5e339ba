package io.pqfl.app.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Cli;
import io.pqfl.app.ConfigFileDefaults;
import io.pqfl.coordinator.TestClient;
import io.pqfl.coordinator.TestFederation;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CoordinatorCliTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(Object command, String... args) {
        CommandLine cmd = Cli.commandLine(command);
        ConfigFileDefaults.install(cmd, args);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void ledgerVerify_passesOnARealRun_andFailsNamingTheEntryAfterTampering() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            c1.submit(c1.task(10_000), tiny(1), 5);
            c2.submit(c2.task(10_000), tiny(3), 5);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
        }
        Path data = dir.resolve("data");
        assertThat(run(new LedgerCommand(), "verify", data.toString())).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("2 accepted updates").contains("2 published models").contains("OK");

        try (var c = DriverManager.getConnection(DataDirectory.of(data).jdbcUrl());
             var s = c.createStatement()) {
            s.execute("DROP TRIGGER ledger_no_update");
            s.executeUpdate("UPDATE ledger SET signature = zeroblob(2420) WHERE seq = 3");
        }
        assertThat(run(new LedgerCommand(), "verify", data.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED at entry 3");
    }

    @Test
    void tlsAndTokenSettings_badInput_clearErrors_nothingStarted() throws Exception {
        SigningKey coordinatorKey = Keys.generate(SignatureScheme.ML_DSA_65);
        TestFederation.writeKey(coordinatorKey, dir.resolve("coord"));
        String key = dir.resolve("coord.key").toString();
        String data = dir.resolve("d").toString();
        var ca = CertificateAuthority.init(dir.resolve("ca"), "cli CA", SignatureScheme.ML_DSA_65,
                Duration.ofDays(1), null, Clock.systemUTC());
        // A certificate for another key than the coordinator's.
        Certificates.writeNew(dir.resolve("other.crt"), ca.issue(Role.COORDINATOR, "x",
                Keys.generate(SignatureScheme.ML_DSA_65).verifyingKey(), List.of("localhost"),
                List.of(), Duration.ofDays(1)));

        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--client-auth", "require")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--client-auth require without --tls-cert: give --tls-cert");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--tls-cert", dir.resolve("other.crt").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("other.crt is not a certificate for the key");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--tls-cert", dir.resolve("other.crt").toString(),
                "--tls-key-exchange", "quantum")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown key exchange 'quantum'; use hybrid (default), pq-only or classical");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--tls-cert", dir.resolve("other.crt").toString(),
                "--client-auth", "require")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("--client-auth require needs --client-ca");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--plaintext",
                "--client-crl", dir.resolve("ca/ca.crl").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("a client CRL needs the client CA certificate");
        assertThat(DataDirectory.of(dir.resolve("d")).database()).doesNotExist();

        assertThat(run(new TokenCommand(), "create", "--data-dir", data, "--key", key, "--client-id", "no spaces"))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("'no spaces' is not a valid client id");
        assertThat(run(new TokenCommand(), "create", "--data-dir", data, "--key", key, "--client-id", "dave")).isZero();
        String token = out.toString().lines().filter(l -> l.startsWith("pqfl-enroll-")).findFirst().orElseThrow();
        int before = out.toString().length();
        assertThat(run(new TokenCommand(), "list", "--data-dir", data)).isZero();
        String listing = out.toString().substring(before);
        assertThat(listing).contains("dave").doesNotContain(token).doesNotContain("pqfl-enroll-");
    }

    @Test
    void coordinator_withoutTlsOrPlaintext_refusesToStart_andPlaintextWithTlsOptionsConflicts() throws Exception {
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_65), dir.resolve("coord"));
        String key = dir.resolve("coord.key").toString();
        String data = dir.resolve("d").toString();

        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data)).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("no TLS configured: give --tls-cert/--tls-key (see `pqfl coordinator init`) or "
                + "--plaintext to serve unencrypted gRPC on purpose");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--plaintext", "--tls-cert", "coordinator.crt"))
                .isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--plaintext conflicts with --tls-cert: give TLS options or --plaintext, not both");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--plaintext", "--tls-key-exchange", "hybrid",
                "--client-auth", "optional")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--plaintext conflicts with --tls-key-exchange, --client-auth optional");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--data-dir", data, "--tls-key", key)).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--tls-key without --tls-cert: give --tls-cert");
        // From a config file as from the command line.
        Path cfg = dir.resolve("c.properties");
        Files.writeString(cfg, "plaintext=true\ntls-cert=coordinator.crt\n");
        assertThat(run(new CoordinatorCommand(), "--config", cfg.toString(), "--key", key, "--data-dir", data)).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--plaintext conflicts with --tls-cert");
        // Checked before anything else: neither the key nor the data directory was touched.
        assertThat(run(new CoordinatorCommand(), "--key", dir.resolve("missing.key").toString())).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).doesNotContain("missing.key");
        assertThat(run(new CoordinatorCommand(), "--plaintext")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("Missing required option: '--key=FILE'");
        assertThat(dir.resolve("d")).doesNotExist();
    }

    @Test
    void ledgerVerify_missingDirectory_saysSo() {
        assertThat(run(new LedgerCommand(), "verify", dir.resolve("nothing").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("no ledger here");
    }

    @Test
    void coordinator_differentialPrivacy_refusesWhatItCannotHonour() throws Exception {
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_65), dir.resolve("coord"));
        String key = dir.resolve("coord.key").toString();
        String data = dir.resolve("d").toString();

        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data, "--strategy", "fedmedian",
                "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("works only with the sum-based strategies").contains("not fedmedian");

        // 50 rounds that may each sample every live client spend far more than epsilon 1 at z = 1
        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data, "--rounds", "50",
                "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0", "--dp-epsilon-budget", "1")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("the planned 50 rounds would spend epsilon").contains("over the DP epsilon budget 1.0");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data,
                "--dp-noise-multiplier", "1.0")).isNotEqualTo(Cli.OK);
        assertThat(err.toString()).contains("--dp-noise-multiplier needs --dp-clip");

        // adaptive clipping: the default count noise for 4 clients per round is 4 / 20 = 0.2, not above z / 2 = 0.5
        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data, "--min-clients", "4",
                "--clients-per-round", "4", "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0", "--dp-clip-quantile", "0.5"))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("needs a clipped-count noise std above 1.0 / 2 = 0.5, got 0.2")
                .contains("the default std for 4 clients per round is 4 / 20 = 0.2");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data,
                "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0", "--dp-clip-quantile", "0.5",
                "--dp-clip-count-stddev", "0.4")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("got 0.4").contains("--dp-clip-count-stddev");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data,
                "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0", "--dp-clip-lr", "0.1")).isNotEqualTo(Cli.OK);
        assertThat(err.toString()).contains("--dp-clip-lr and --dp-clip-count-stddev need --dp-clip-quantile");
        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--data-dir", data,
                "--dp-noise-multiplier", "1.0", "--dp-clip", "1.0", "--dp-clip-quantile", "1.5",
                "--dp-clip-count-stddev", "5")).isNotEqualTo(Cli.OK);
        assertThat(err.toString()).contains("DP clip quantile must be in [0, 1], got 1.5");
        assertThat(dir.resolve("d")).doesNotExist();
    }

    @Test
    void coordinator_badSettings_clearErrorsAndNonZeroExit() throws Exception {
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_65), dir.resolve("coord"));
        String key = dir.resolve("coord.key").toString();

        assertThat(run(new CoordinatorCommand(), "--key", dir.resolve("missing.key").toString(), "--plaintext")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("missing.key: no such file");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--strategy", "fedsgd", "--data-dir", dir.resolve("d").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown strategy 'fedsgd'");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--model", "resnet")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown model 'resnet'");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--schemes", "RSA")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("unknown signature scheme 'RSA'");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--round-timeout", "soon")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("bad duration 'soon'");

        assertThat(run(new CoordinatorCommand(), "--key", key, "--plaintext", "--min-clients", "0")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("min clients must be >= 1");
    }

    @Test
    void configFile_suppliesSettings_andUnknownKeysAreRefused() throws Exception {
        Path cfg = dir.resolve("coordinator.properties");
        Files.writeString(cfg, "strategy=fedsgd\nplaintext=true\n");
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_65), dir.resolve("coord"));
        assertThat(run(new CoordinatorCommand(), "--config", cfg.toString(), "--key", dir.resolve("coord.key").toString(),
                "--data-dir", dir.resolve("d").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown strategy 'fedsgd'");

        Files.writeString(cfg, "strategee=fedavg\n");
        CommandLine cmd = Cli.commandLine(new CoordinatorCommand());
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                ConfigFileDefaults.install(cmd, new String[] {"--config", cfg.toString()}))
                .hasMessageContaining("unknown setting 'strategee'");
        assertThat(KeyPem.readVerifyingKey(dir.resolve("coord.pub"))).isNotNull();
    }

    @Test
    void configFile_isCheckedAgainstTheInvokedCommandOnly() throws Exception {
        Path cfg = dir.resolve("coordinator.properties");
        Files.writeString(cfg, "client-auth=require\nrounds=3\n");
        // A coordinator's settings the client does not have: fine for `pqfl coordinator`, refused for `pqfl client`.
        CommandLine root = io.pqfl.app.Pqfl.commandLine();
        ConfigFileDefaults.install(root, new String[] {"coordinator", "--config", cfg.toString()});
        assertThat(root.getSubcommands().get("coordinator").getDefaultValueProvider()).isNotNull();
        CommandLine again = io.pqfl.app.Pqfl.commandLine();
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                ConfigFileDefaults.install(again, new String[] {"client", "--config", cfg.toString()}))
                .hasMessageContaining("unknown setting 'client-auth' for 'client'");
    }

    @Test
    void tokenFile_isCreatedOwnerOnly_andAnExistingFileCostsNoToken() throws Exception {
        Path data = dir.resolve("data");
        Path token = dir.resolve("alice.token");
        String key = dir.resolve("coordinator").toString();
        TestFederation.writeKey(Keys.generate(SignatureScheme.ML_DSA_44), dir.resolve("coordinator"));
        assertThat(Cli.commandLine(new TokenCommand()).execute("create", "--data-dir", data.toString(), "--key", key + ".key",
                "--client-id", "alice", "--out", token.toString())).isEqualTo(Cli.OK);
        assertThat(mode(data)).isEqualTo("rwx------");
        assertThat(mode(token)).isEqualTo("rw-------");
        assertThat(Files.readString(token)).startsWith("pqfl-enroll-");

        assertThat(run(new TokenCommand(), "create", "--data-dir", data.toString(), "--key", key + ".key", "--client-id", "bob",
                "--out", token.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(token + " already exists");
        int before = out.toString().length();
        assertThat(run(new TokenCommand(), "list", "--data-dir", data.toString())).isEqualTo(Cli.OK);
        assertThat(out.toString().substring(before)).contains("alice").doesNotContain("bob");
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
