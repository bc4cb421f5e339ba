package io.pqfl.app.keys;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.PasswordOptions;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.CertificateRejectedException;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.PkiException;
import io.pqfl.crypto.pki.Role;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pqfl pki}: a federation certificate authority with ML-DSA certificates. */
@Command(name = "pki", mixinStandardHelpOptions = true,
        description = "Run a federation certificate authority: ML-DSA X.509 certificates for the coordinator and clients.",
        subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class, PkiCommand.Revoke.class, PkiCommand.Crl.class,
            PkiCommand.ListIssued.class, PkiCommand.Check.class})
public final class PkiCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    static CertificateAuthority open(Path dir, PasswordOptions password) throws Exception {
        return CertificateAuthority.open(dir, password.password(), Clock.systemUTC());
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Create a CA in DIR: ca.crt, ca.key (owner-only), ca.pub, ca.crl (empty), index.tsv.")
    static final class Init implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA directory to create.")
        Path dir;
        @Option(names = "--name", defaultValue = "pqfl federation CA", description = "The CA's common name (default: ${DEFAULT-VALUE}).")
        String name;
        @Option(names = "--scheme", defaultValue = "ML-DSA-65", paramLabel = "SCHEME",
                description = "ML-DSA-44, ML-DSA-65 or ML-DSA-87 (default: ${DEFAULT-VALUE}).")
        SignatureScheme scheme;
        @Option(names = "--days", defaultValue = "3650", description = "Validity in days (default: ${DEFAULT-VALUE}).")
        int days;
        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            CertificateAuthority ca = CertificateAuthority.init(dir, name, scheme, Duration.ofDays(days), password.password(),
                    Clock.systemUTC());
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Created %s CA '%s' in %s (valid until %s)%n", scheme, name, dir,
                    ca.certificate().getNotAfter().toInstant());
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Issue a coordinator or client certificate for an existing public key.")
    static final class Issue implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA directory.")
        Path dir;
        @Option(names = "--role", required = true, paramLabel = "ROLE", description = "coordinator or client.")
        String role;
        @Option(names = "--name", required = true,
                description = "Client: its client id. Coordinator: a display name.")
        String name;
        @Option(names = "--key", required = true, paramLabel = "FILE",
                description = "The subject's .pub (or .key) file; for a client, the key that signs its updates.")
        Path keyFile;
        @Option(names = "--dns", paramLabel = "NAME", description = "Coordinator host name (repeatable).")
        List<String> dns = new ArrayList<>();
        @Option(names = "--ip", paramLabel = "ADDR", description = "Coordinator IP address (repeatable).")
        List<String> ips = new ArrayList<>();
        @Option(names = "--days", defaultValue = "365", description = "Validity in days (default: ${DEFAULT-VALUE}).")
        int days;
        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the PEM certificate.")
        Path out;
        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            Role r = switch (role.toLowerCase(Locale.ROOT)) {
                case "coordinator" -> Role.COORDINATOR;
                case "client" -> Role.CLIENT;
                default -> throw new CliException("--role must be coordinator or client, not '" + role + "'");
            };
            if (r == Role.CLIENT && !ClientId.isValid(name)) {
                throw new CliException("'" + name + "' is not a valid client id");
            }
            VerifyingKey key = KeyPem.read(keyFile, null).verifyingKey();
            CertificateAuthority ca = open(dir, password);
            X509Certificate cert = ca.issue(r, name, key, dns, ips, Duration.ofDays(days));
            Certificates.writeNew(out, cert);
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Issued %s certificate %s for '%s' (%s key %s), valid until %s: %s%n", role, Certificates.serialHex(
                    cert.getSerialNumber()), name, key.scheme(), key.keyId(), cert.getNotAfter().toInstant(), out);
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a certificate (by file or serial) and re-issue ca.crl.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA directory.")
        Path dir;
        @Option(names = "--reason", defaultValue = "unspecified", description = "Recorded in index.tsv.")
        String reason;
        @Parameters(paramLabel = "CERT|SERIAL", description = "A certificate file, or a serial number in hex.")
        String target;
        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            BigInteger serial;
            Path file = Path.of(target);
            if (Files.isRegularFile(file)) {
                serial = Certificates.read(file).getSerialNumber();
            } else if (target.matches("[0-9a-fA-F]{1,64}")) {
                serial = new BigInteger(target, 16);
            } else {
                throw new CliException(target + ": neither a certificate file nor a hex serial number");
            }
            CertificateAuthority ca = open(dir, password);
            X509CRL crl = ca.revoke(serial, reason);
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Revoked %s; %s now lists %d certificate(s)%n", Certificates.serialHex(serial),
                    dir.resolve(CertificateAuthority.CRL_FILE), crl.getRevokedCertificates() == null ? 0
                            : crl.getRevokedCertificates().size());
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "crl", mixinStandardHelpOptions = true, description = "Re-sign ca.crl with a fresh date.")
    static final class Crl implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA directory.")
        Path dir;
        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            X509CRL crl = open(dir, password).reissueCrl();
            spec.commandLine().getOut().printf("Re-issued %s, next update %s%n", dir.resolve(CertificateAuthority.CRL_FILE),
                    crl.getNextUpdate().toInstant());
            spec.commandLine().getOut().flush();
            return Cli.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the certificates a CA issued.")
    static final class ListIssued implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "The CA directory.")
        Path dir;

        @Override
        public Integer call() throws Exception {
            Path index = dir.resolve(CertificateAuthority.INDEX_FILE);
            if (!Files.isRegularFile(index)) {
                throw new PkiException(dir + ": not a CA directory (no " + CertificateAuthority.INDEX_FILE + ")");
            }
            PrintWriter w = spec.commandLine().getOut();
            w.printf("%-34s %-12s %-24s %-22s %s%n", "SERIAL", "ROLE", "NAME", "NOT AFTER", "STATUS");
            for (String line : Files.readAllLines(index)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                w.printf("%-34s %-12s %-24s %-22s %s%n", f[0], f[1], f[2], f[3],
                        f[4].equals("R") ? "revoked " + f[5] + " (" + f[6] + ")" : "valid");
            }
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Check a certificate against a CA certificate and CRL, as the coordinator would.")
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--ca-cert", required = true, paramLabel = "FILE", description = "The federation CA certificate.")
        Path caCert;
        @Option(names = "--crl", paramLabel = "FILE", description = "The CA's revocation list.")
        Path crl;
        @Option(names = "--role", defaultValue = "client", description = "coordinator or client (default: ${DEFAULT-VALUE}).")
        String role;
        @Parameters(paramLabel = "CERT", description = "The certificate to check.")
        Path cert;

        @Override
        public Integer call() throws Exception {
            CertificateChecker checker = CertificateChecker.load(caCert, crl, Clock.systemUTC());
            X509Certificate c = Certificates.read(cert);
            Role r = role.equalsIgnoreCase("coordinator") ? Role.COORDINATOR : Role.CLIENT;
            PrintWriter w = spec.commandLine().getOut();
            try {
                VerifyingKey key = checker.check(c, r, null);
                w.printf("OK: '%s' (%s key %s), serial %s, valid until %s%n", Certificates.commonName(c), key.scheme(),
                        key.keyId(), Certificates.serialHex(c.getSerialNumber()), c.getNotAfter().toInstant());
                w.flush();
                return Cli.OK;
            } catch (CertificateRejectedException e) {
                spec.commandLine().getErr().println("REFUSED (" + e.reason() + "): " + e.getMessage());
                return Cli.FAILED;
            }
        }
    }
}
