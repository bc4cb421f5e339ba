package io.pqfl.crypto.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class KeysCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = Cli.commandLine(new KeysCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void generate_writesBothFiles_andShowReadsThem() throws Exception {
        Path base = dir.resolve("alice");
        assertThat(run("generate", "--scheme", "Falcon-512", "--out", base.toString())).isZero();
        assertThat(out.toString()).contains("Generated Falcon-512 key");
        String keyId = KeyPem.readVerifyingKey(dir.resolve("alice.pub")).keyId().hex();

        assertThat(run("show", dir.resolve("alice.key").toString())).isZero();
        assertThat(out.toString()).contains("scheme:      Falcon-512").contains(keyId).contains("private key");
    }

    @Test
    void generate_encrypted_showNeedsPassword() throws Exception {
        Path pw = dir.resolve("pw.txt");
        Files.writeString(pw, "s3cret\n");
        Path base = dir.resolve("enc");
        assertThat(run("generate", "--out", base.toString(), "--password-file", pw.toString())).isZero();
        assertThat(out.toString()).contains("ML-DSA-65").contains("encrypted");

        assertThat(run("show", base + ".key")).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("enc.key").contains("password is required");

        Files.writeString(pw, "wrong\n");
        assertThat(run("show", base + ".key", "--password-file", pw.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("wrong password");
    }

    @Test
    void generate_unknownScheme_exitsUsageAndListsValidSchemes() {
        assertThat(run("generate", "--scheme", "RSA-2048", "--out", dir.resolve("x").toString())).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("unknown signature scheme 'RSA-2048'").contains("ML-DSA-65").contains("Falcon-1024");
        assertThat(dir.resolve("x.key")).doesNotExist();
    }

    @Test
    void generate_existingOutput_refusesWithoutTouchingIt() throws Exception {
        Files.writeString(dir.resolve("bob.key"), "precious");
        assertThat(run("generate", "--out", dir.resolve("bob").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("bob.key already exists");
        assertThat(Files.readString(dir.resolve("bob.key"))).isEqualTo("precious");
        assertThat(dir.resolve("bob.pub")).doesNotExist();
    }

    @Test
    void show_corruptFile_namesIt() throws Exception {
        Path bad = dir.resolve("bad.pub");
        Files.writeString(bad, "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n");
        assertThat(run("show", bad.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).startsWith("error: ").contains("bad.pub");
    }

    @Test
    void show_missingFile_namesIt() {
        assertThat(run("show", dir.resolve("nope.pub").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("nope.pub").contains("no such file");
    }

    @Test
    void schemes_listsEveryScheme() {
        assertThat(run("schemes")).isZero();
        for (SignatureScheme s : SignatureScheme.values()) {
            assertThat(out.toString()).contains(s.displayName());
        }
        assertThat(out.toString()).contains("Dilithium3").contains("FIPS 205");
    }
}
