package io.pqfl.app.coordinator;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.PasswordOptions;
import io.pqfl.app.UsageException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateAuthority;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import io.pqfl.protocol.FederationIds;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl coordinator init}: everything a federation needs for TLS in one directory, and the commands
 * that use it. The pieces are the ones {@code pqfl pki} and {@code pqfl keys} make one by one; this only
 * lays them out so that the printed commands work as they are.
 *
 * <p>Layout of DIR: {@code ca/} (the federation CA, as {@code pqfl pki init} makes it),
 * {@code coordinator.key/.pub} (the key that signs models, also the TLS key), {@code coordinator.crt} (its
 * TLS certificate for the hosts), and per client {@code clients/ID/} with {@code ID.key/.pub/.crt} plus
 * copies of {@code ca.crt} and {@code coordinator.pub}, so that a client's directory is all it needs.
 */
@Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Create in DIR a federation CA, the coordinator's key and TLS certificate, and a",
            "key and certificate per client (ML-DSA throughout); print the commands that start",
            "the coordinator and each client over TLS 1.3 with X25519MLKEM768.",
            "With --password-file or --password-env every private key is also encrypted."})
public final class CoordinatorInitCommand implements Callable<Integer> {
    static final String COORDINATOR_KEY = "coordinator.key";
    static final String COORDINATOR_PUB = "coordinator.pub";
    static final String COORDINATOR_CERT = "coordinator.crt";
    static final String CA_DIR = "ca";
    static final String CLIENTS_DIR = "clients";
    static final String DATA_DIR = "data";
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern DNS_NAME = Pattern.compile("(?i)[a-z0-9*]([a-z0-9-]{0,62})(\\.[a-z0-9]([a-z0-9-]{0,62}))*");
    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Where to create it; must not exist, or be empty.")
    Path dir;

    @Option(names = "--federation-id", defaultValue = "pqfl", description = "Federation id (default: ${DEFAULT-VALUE}).")
    String federationId;

    @Option(names = "--hosts", split = ",", defaultValue = "localhost,127.0.0.1", paramLabel = "HOST",
            description = "Names and addresses clients use to reach the coordinator: the TLS certificate's DNS/IP "
                    + "names; the first is used in the printed client commands (default: ${DEFAULT-VALUE}).")
    List<String> hosts;

    @Option(names = "--port", defaultValue = "50051", description = "The coordinator's port in the printed commands (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--clients", split = ",", paramLabel = "ID", description = "Client ids to create a key and certificate for.")
    List<String> clients = List.of();

    @Option(names = "--scheme", defaultValue = "ML-DSA-65", paramLabel = "SCHEME",
            description = "ML-DSA-44, ML-DSA-65 or ML-DSA-87, for the CA and every key (default: ${DEFAULT-VALUE}).")
    SignatureScheme scheme;

    @Option(names = "--days", defaultValue = "365",
            description = "Validity of the coordinator's and clients' certificates; the CA's is ten years (default: ${DEFAULT-VALUE}).")
    int days;

    @Mixin
    PasswordOptions password;

    @Override
    public Integer call() throws Exception {
        List<String> ids = checkClients();
        List<String> dns = new ArrayList<>();
        List<String> ips = new ArrayList<>();
        checkArguments(dns, ips);
        if (Files.exists(dir) && !isEmptyDirectory(dir)) {
            throw new CliException(dir + " already exists and is not empty; refusing to overwrite it (give a new --dir)");
        }
        char[] pw = password.password();
        Clock clock = Clock.systemUTC();
        Duration validity = Duration.ofDays(days);

        CertificateAuthority ca = CertificateAuthority.init(dir.resolve(CA_DIR), federationId + " federation CA", scheme,
                Duration.ofDays(3650), pw, clock);
        SigningKey coordinator = Keys.generate(scheme);
        KeyPem.writeKeyPair(coordinator, dir.resolve(COORDINATOR_KEY), dir.resolve(COORDINATOR_PUB), pw);
        X509Certificate tlsCert = ca.issue(Role.COORDINATOR, federationId + " coordinator", coordinator.verifyingKey(), dns, ips,
                validity);
        Certificates.writeNew(dir.resolve(COORDINATOR_CERT), tlsCert);
        for (String id : ids) {
            Path home = dir.resolve(CLIENTS_DIR).resolve(id);
            SigningKey key = Keys.generate(scheme);
            KeyPem.writeKeyPair(key, home.resolve(id + ".key"), home.resolve(id + ".pub"), pw);
            Certificates.writeNew(home.resolve(id + ".crt"), ca.issue(Role.CLIENT, id, key.verifyingKey(), List.of(), List.of(),
                    validity));
            Certificates.writeNew(home.resolve(CertificateAuthority.CERT_FILE), ca.certificate());
            KeyPem.writeVerifyingKey(coordinator.verifyingKey(), home.resolve(COORDINATOR_PUB));
        }
        print(coordinator, tlsCert, ids);
        return Cli.OK;
    }

    private List<String> checkClients() {
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (String id : clients) {
            if (!ClientId.isValid(id)) {
                throw new UsageException("--clients: '" + id + "' is not a valid client id");
            }
            if (!ids.add(id)) {
                throw new UsageException("--clients names '" + id + "' twice");
            }
        }
        return List.copyOf(ids);
    }

    private void checkArguments(List<String> dns, List<String> ips) {
        try {
            FederationIds.require(federationId);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (scheme.family() != SignatureScheme.Family.ML_DSA) {
            throw new UsageException("--scheme " + scheme + ": init uses ML-DSA (ML-DSA-44, ML-DSA-65 or ML-DSA-87) for the CA "
                    + "and for keys that sign in TLS; for a client with another scheme use 'pqfl keys generate' and 'pqfl pki issue'");
        }
        if (port < 1 || port > 65535) {
            throw new UsageException("--port must be 1-65535, not " + port);
        }
        if (days < 1) {
            throw new UsageException("--days must be at least 1, not " + days);
        }
        for (String host : hosts) {
            if (isAddress(host)) {
                if (!isValidAddress(host)) {
                    throw new UsageException("--hosts: '" + host + "' is not a valid IP address");
                }
                ips.add(host);
            } else if (DNS_NAME.matcher(host).matches() && host.length() <= 253) {
                dns.add(host);
            } else {
                throw new UsageException("--hosts: '" + host + "' is neither a host name nor an IP address");
            }
        }
        if (hosts.isEmpty()) {
            throw new UsageException("--hosts needs at least one host name or address");
        }
    }

    private static boolean isAddress(String host) {
        return IPV4.matcher(host).matches() || host.contains(":");
    }

    private static boolean isValidAddress(String host) {
        if (IPV4.matcher(host).matches()) {
            return Arrays.stream(host.split("\\.")).allMatch(octet -> Integer.parseInt(octet) <= 255);
        }
        try {
            // An IPv6 literal (it has a colon) is parsed, never looked up.
            return host.matches("[0-9A-Fa-f:.]+") && InetAddress.getByName(host) != null;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(p)) {
            return entries.findAny().isEmpty();
        }
    }

    private void print(SigningKey coordinator, X509Certificate tlsCert, List<String> ids) {
        PrintWriter w = spec.commandLine().getOut();
        List<String> pwOption = passwordOption();
        String locked = pwOption.isEmpty() ? "owner-only" : "owner-only, encrypted";
        w.printf("Created federation '%s' in %s (%s):%n", federationId, dir, scheme);
        String row = "  %-17s %s%n";
        w.printf(row, CA_DIR + "/", "the federation CA: ca.crt, ca.crl, ca.key (" + locked + "), index.tsv; 'pqfl pki --ca "
                + dir.resolve(CA_DIR) + "' issues and revokes");
        w.printf(row, COORDINATOR_KEY, "the coordinator's key " + coordinator.keyId() + " (" + locked
                + "): signs every global model, and is its TLS key");
        w.printf(row, COORDINATOR_PUB, "the coordinator's public key: clients pin it");
        w.printf(row, COORDINATOR_CERT, "its TLS certificate for " + String.join(", ", hosts) + ", valid until "
                + tlsCert.getNotAfter().toInstant());
        for (String id : ids) {
            w.printf(row, CLIENTS_DIR + "/" + id + "/", id + ".key (" + locked + "), " + id + ".pub, " + id
                    + ".crt, ca.crt, coordinator.pub: all " + id + " needs; copy it to " + id + "'s machine");
        }
        w.println();
        w.println("Start the coordinator (TLS 1.3 with X25519MLKEM768; clients admitted by their certificates):");
        List<String> c = new ArrayList<>(List.of("./pqfl", "coordinator", "--federation-id", federationId,
                "--key", dir.resolve(COORDINATOR_KEY).toString()));
        c.addAll(pwOption);
        c.addAll(List.of("--port", Integer.toString(port), "--data-dir", dir.resolve(DATA_DIR).toString(),
                "--tls-cert", dir.resolve(COORDINATOR_CERT).toString(),
                "--client-ca", dir.resolve(CA_DIR).resolve(CertificateAuthority.CERT_FILE).toString(),
                "--client-crl", dir.resolve(CA_DIR).resolve(CertificateAuthority.CRL_FILE).toString(),
                "--client-auth", "optional"));
        w.println("  " + shellLine(c));
        w.println();
        if (ids.isEmpty()) {
            w.printf("Add clients with 'pqfl keys generate' and 'pqfl pki issue --ca %s --role client'; each connects with%n",
                    dir.resolve(CA_DIR));
            w.printf("  ./pqfl client --coordinator %s --tls-ca %s --coordinator-key %s --cert ID.crt --key ID.key ...%n",
                    address(), dir.resolve(CA_DIR).resolve(CertificateAuthority.CERT_FILE), dir.resolve(COORDINATOR_PUB));
        } else {
            w.println("Start each client (add --data and --partition for its own data):");
            for (String id : ids) {
                Path home = dir.resolve(CLIENTS_DIR).resolve(id);
                List<String> k = new ArrayList<>(List.of("./pqfl", "client", "--coordinator", address(), "--client-id", id,
                        "--key", home.resolve(id + ".key").toString()));
                k.addAll(pwOption);
                k.addAll(List.of("--cert", home.resolve(id + ".crt").toString(),
                        "--tls-ca", home.resolve(CertificateAuthority.CERT_FILE).toString(),
                        "--coordinator-key", home.resolve(COORDINATOR_PUB).toString()));
                w.println("  " + shellLine(k));
            }
        }
        w.flush();
    }

    /** Where clients reach the coordinator: the first host name, else the first address. */
    private String address() {
        String host = hosts.stream().filter(h -> !isAddress(h)).findFirst()
                .orElse(hosts.get(0));
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** The password option this command was given, to repeat in the printed commands (never the password). */
    private List<String> passwordOption() {
        for (String name : List.of("--password-file", "--password-env")) {
            OptionSpec o = spec.findOption(name);
            if (o != null && o.getValue() != null) {
                return List.of(name, o.getValue().toString());
            }
        }
        return List.of();
    }

    static String shellLine(List<String> words) {
        StringBuilder b = new StringBuilder();
        for (String word : words) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(SHELL_SAFE.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'");
        }
        return b.toString();
    }
}
