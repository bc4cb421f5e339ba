package io.pqfl.app.keys;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Cli;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.testing.TestKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
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
    void show_binaryFile_saysItIsNotPem_andWhatWasExpected() throws Exception {
        Path der = dir.resolve("alice.der");
        Files.write(der, TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey().encoded());
        assertThat(run("show", der.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).isEqualTo("error: " + der + ": not a PEM file (binary data; expected a PEM PUBLIC KEY,"
                + " PRIVATE KEY or ENCRYPTED PRIVATE KEY)" + System.lineSeparator());
    }

    @Test
    void show_directory_saysSo() {
        assertThat(run("show", dir.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).isEqualTo("error: " + dir + ": is a directory, expected a key file" + System.lineSeparator());
    }

    @Test
    void show_certificate_saysWhatTheFileHolds_andWhereToLook() throws Exception {
        CertificateAuthority.init(dir.resolve("ca"), "test CA", SignatureScheme.ML_DSA_44, Duration.ofDays(1), null,
                Clock.systemUTC());
        Path cert = dir.resolve("ca").resolve(CertificateAuthority.CERT_FILE);
        assertThat(run("show", cert.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).isEqualTo("error: " + cert + ": holds a CERTIFICATE; expected a PUBLIC KEY, PRIVATE KEY"
                + " or ENCRYPTED PRIVATE KEY (to see a certificate use `pqfl pki check`)" + System.lineSeparator());
    }

    @Test
    void show_emptyFile_saysSo() throws Exception {
        Path empty = dir.resolve("empty.pub");
        Files.createFile(empty);
        assertThat(run("show", empty.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).isEqualTo("error: " + empty + ": empty file; expected a PEM PUBLIC KEY, PRIVATE KEY"
                + " or ENCRYPTED PRIVATE KEY" + System.lineSeparator());
    }

    @Test
    void show_pemCutOffBeforeItsEndLine_saysItIsTruncated() throws Exception {
        String pem = KeyPem.encodePublic(TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        Path cut = dir.resolve("cut.pub");
        Files.writeString(cut, pem.substring(0, pem.length() / 2));
        assertThat(run("show", cut.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(cut + ": corrupt PEM: the PUBLIC KEY block is truncated or its base64 is damaged");
        assertCleanError();
    }

    @Test
    void show_pemWithPartOfItsBodyMissing_saysTheContentsAreCorrupt() throws Exception {
        String[] lines = KeyPem.encodePublic(TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey()).split("\n");
        Path cut = dir.resolve("short.pub");
        Files.writeString(cut, lines[0] + "\n" + lines[1] + "\n" + lines[lines.length - 1] + "\n");
        assertThat(run("show", cut.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(cut + ": corrupt PUBLIC KEY: its contents are not an X.509 SubjectPublicKeyInfo");
        assertCleanError();
    }

    @Test
    void generate_outBelowARegularFile_namesTheKeyFileAndWhatIsInTheWay() throws Exception {
        Path file = dir.resolve("plain.txt");
        Files.writeString(file, "not a directory");
        assertThat(run("generate", "--out", file.resolve("alice").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(file.resolve("alice.key") + ": cannot create it: " + file + " is not a directory")
                .doesNotContain("already exists");
        assertCleanError();
    }

    @Test
    void show_passwordFileMissingOrADirectory_namesIt() throws Exception {
        Path base = dir.resolve("k");
        assertThat(run("generate", "--out", base.toString())).isZero();
        Path missing = dir.resolve("nope.txt");
        assertThat(run("show", base + ".key", "--password-file", missing.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(missing + ": no such password file");
        assertThat(run("show", base + ".key", "--password-file", dir.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(dir + ": is a directory, expected a password file");
        assertCleanError();
    }

    /** Every failure so far was one line per failure naming no Java or Bouncy Castle class. */
    private void assertCleanError() {
        assertThat(err.toString()).doesNotContain("org.bouncycastle").doesNotContain("java.").doesNotContain("Exception")
                .doesNotContain("\tat ");
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
