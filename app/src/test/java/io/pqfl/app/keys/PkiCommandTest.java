package io.pqfl.app.keys;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PkiCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(Object command, String... args) {
        CommandLine cmd = Cli.commandLine(command);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void initIssueCheckRevoke_endToEnd() {
        String ca = dir.resolve("ca").toString();
        assertThat(run(new PkiCommand(), "init", "--ca", ca)).isZero();
        assertThat(out.toString()).contains("Created ML-DSA-65 CA");
        assertThat(run(new KeysCommand(), "generate", "--scheme", "ML-DSA-44", "--out", dir.resolve("alice").toString())).isZero();
        String cert = dir.resolve("alice.crt").toString();
        assertThat(run(new PkiCommand(), "issue", "--ca", ca, "--role", "client", "--name", "alice",
                "--key", dir.resolve("alice.pub").toString(), "--out", cert)).isZero();
        assertThat(out.toString()).contains("Issued client certificate").contains("ML-DSA-44");

        String crl = dir.resolve("ca/ca.crl").toString();
        String caCert = dir.resolve("ca/ca.crt").toString();
        assertThat(run(new PkiCommand(), "check", "--ca-cert", caCert, "--crl", crl, cert)).isZero();
        assertThat(out.toString()).contains("OK: 'alice'");

        assertThat(run(new PkiCommand(), "revoke", "--ca", ca, "--reason", "stolen", cert)).isZero();
        assertThat(out.toString()).contains("now lists 1 certificate");
        assertThat(run(new PkiCommand(), "check", "--ca-cert", caCert, "--crl", crl, cert)).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("REFUSED (REVOKED)");
        assertThat(run(new PkiCommand(), "list", "--ca", ca)).isZero();
        assertThat(out.toString()).contains("alice").contains("revoked").contains("stolen");
    }

    @Test
    void badInput_namesWhatWasWrong() {
        String ca = dir.resolve("ca").toString();
        assertThat(run(new PkiCommand(), "init", "--ca", ca, "--scheme", "Falcon-512")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("uses ML-DSA");
        assertThat(run(new PkiCommand(), "init", "--ca", ca)).isZero();
        assertThat(run(new PkiCommand(), "issue", "--ca", ca, "--role", "admin", "--name", "x", "--key",
                dir.resolve("none.pub").toString(), "--out", dir.resolve("x.crt").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("--role must be coordinator or client");
        assertThat(run(new PkiCommand(), "revoke", "--ca", ca, "zz-not-a-serial")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("neither a certificate file nor a hex serial");
        assertThat(run(new PkiCommand(), "revoke", "--ca", ca, "abc")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("no certificate with serial abc");
        assertThat(dir.resolve("x.crt")).doesNotExist();
    }
}
