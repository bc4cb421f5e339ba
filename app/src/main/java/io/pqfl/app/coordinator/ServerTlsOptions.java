package io.pqfl.app.coordinator;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.pqfl.app.CliException;
import io.pqfl.app.PasswordOptions;
import io.pqfl.app.UsageException;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.Role;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.TrustManager;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl coordinator}'s transport options (a picocli mixin): TLS 1.3 with the coordinator's certificate, the
 * key exchange and client certificates, or plaintext gRPC only when asked for by name.
 *
 * <p>Security: without {@code --plaintext} the coordinator refuses to start unencrypted; with it, TLS options are a
 * contradiction and refused too. A certificate must be for the key that serves it.
 */
final class ServerTlsOptions {
    static final String NO_TLS = "no TLS configured: give --tls-cert/--tls-key (see `pqfl coordinator init`) or "
            + "--plaintext to serve unencrypted gRPC on purpose";

    /** The coordinator command, whose parse result says whether --tls-key-exchange was given. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Serve TLS 1.3 with this certificate (PEM chain, e.g. from 'pqfl pki issue --role coordinator').")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The TLS certificate's private key (default: --key).")
    Path tlsKey;

    @Option(names = "--plaintext",
            description = "Serve unencrypted gRPC on purpose (updates and models are still signed, but the channel is not "
                    + "confidential). Without it, TLS options are required.")
    boolean plaintext;

    @Option(names = "--tls-key-exchange", defaultValue = "hybrid", paramLabel = "MODE",
            description = "hybrid (X25519MLKEM768 first, classical fallback), pq-only or classical (default: ${DEFAULT-VALUE}).")
    String keyExchange;

    @Option(names = "--client-ca", paramLabel = "FILE",
            description = "Federation CA certificate: admit clients whose certificate it issued (no trust-dir entry needed).")
    Path clientCa;

    @Option(names = "--client-crl", paramLabel = "FILE", description = "The CA's revocation list (re-read when it changes).")
    Path clientCrl;

    @Option(names = "--client-auth", defaultValue = "none", paramLabel = "MODE",
            description = "Client certificates in the TLS handshake: none, optional or require (default: ${DEFAULT-VALUE}).")
    String clientAuth;

    /** Whether the coordinator serves TLS (it was given a certificate). */
    boolean enabled() {
        return tlsCert != null;
    }

    /** The transport as the start-up line names it, when {@link #enabled}. */
    String describe() {
        return "TLS 1.3, key exchange " + keyExchange + (clientAuth.equals("none") ? "" : ", client certificates " + clientAuth);
    }

    /**
     * Plaintext only by name: without --plaintext the coordinator needs a TLS certificate, and --plaintext
     * with TLS options is a contradiction. Checked before any file is read.
     */
    void check() {
        List<String> tlsOptions = new ArrayList<>();
        if (tlsCert != null) {
            tlsOptions.add("--tls-cert");
        }
        if (tlsKey != null) {
            tlsOptions.add("--tls-key");
        }
        if (!keyExchange.equals("hybrid") || command.commandLine().getParseResult().hasMatchedOption("--tls-key-exchange")) {
            tlsOptions.add("--tls-key-exchange");
        }
        if (!clientAuth.equals("none")) {
            tlsOptions.add("--client-auth " + clientAuth);
        }
        if (plaintext && !tlsOptions.isEmpty()) {
            throw new UsageException("--plaintext conflicts with " + String.join(", ", tlsOptions)
                    + ": give TLS options or --plaintext, not both");
        }
        if (!plaintext && tlsCert == null) {
            throw new UsageException(tlsOptions.isEmpty() ? NO_TLS
                    : String.join(", ", tlsOptions) + " without --tls-cert: give --tls-cert (see `pqfl coordinator init`)");
        }
    }

    /**
     * The dashboard's HTTPS context, when {@link #enabled}: the same TLS 1.3 and key exchange as the gRPC port, with
     * {@code cert}/{@code key} (PEM; any key type, e.g. ECDSA, so that a browser can verify it) or, without them, the
     * gRPC port's certificate and key.
     */
    javax.net.ssl.SSLContext dashboardContext(SigningKey coordinatorKey, PasswordOptions password, Path cert, Path key)
            throws Exception {
        KeyExchange groups = groups();
        if (cert == null) {
            return PqTls.httpsServer(Certificates.readAll(tlsCert), tlsSigningKey(coordinatorKey, password).toJca(), groups);
        }
        var chain = Certificates.readAll(cert);
        java.security.PrivateKey privateKey = readAnyPrivateKey(key);
        try {
            return PqTls.httpsServer(chain, privateKey, groups);
        } catch (IllegalArgumentException e) {
            throw new CliException("--dashboard-tls-cert/--dashboard-tls-key: " + e.getMessage(), e);
        }
    }

    /** The --tls-key-exchange mode; a bad one is a CLI error naming it. */
    private KeyExchange groups() {
        try {
            return KeyExchange.parse(keyExchange);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
    }

    /** The key of --tls-cert: --tls-key, or the coordinator's own key. */
    private SigningKey tlsSigningKey(SigningKey coordinatorKey, PasswordOptions password) throws Exception {
        return tlsKey == null ? coordinatorKey : KeyPem.readSigningKey(tlsKey, password.password());
    }

    /** An unencrypted PEM private key of any algorithm Bouncy Castle knows (PKCS#8, or OpenSSL's EC/RSA forms). */
    private static java.security.PrivateKey readAnyPrivateKey(Path file) throws Exception {
        try (var parser = new org.bouncycastle.openssl.PEMParser(java.nio.file.Files.newBufferedReader(file))) {
            Object o = parser.readObject();
            var converter = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter()
                    .setProvider(io.pqfl.crypto.internal.BcAlgorithms.bouncyCastle());
            if (o instanceof org.bouncycastle.openssl.PEMKeyPair pair) {
                return converter.getKeyPair(pair).getPrivate();
            }
            if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            throw new CliException(file + " holds no unencrypted PEM private key (--dashboard-tls-key)");
        }
    }

    /**
     * The server's TLS context, when {@link #enabled}: the certificate chain with {@code coordinatorKey} (read from
     * {@code keyFile}) or the --tls-key (read with {@code password}), and the client CA's trust when client
     * certificates are asked for.
     */
    SslContext serverContext(SigningKey coordinatorKey, Path keyFile, PasswordOptions password) throws Exception {
        KeyExchange groups = groups();
        ClientAuth auth;
        try {
            auth = switch (clientAuth) {
                case "none" -> ClientAuth.NONE;
                case "optional" -> ClientAuth.OPTIONAL;
                case "require" -> ClientAuth.REQUIRE;
                default -> throw new IllegalArgumentException("--client-auth must be none, optional or require, not '" + clientAuth + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        if (auth != ClientAuth.NONE && clientCa == null) {
            throw new CliException("--client-auth " + clientAuth + " needs --client-ca (the CA that issues client certificates)");
        }
        SigningKey tls = tlsSigningKey(coordinatorKey, password);
        var chain = Certificates.readAll(tlsCert);
        if (!Arrays.equals(chain.get(0).getPublicKey().getEncoded(), tls.verifyingKey().encoded())) {
            throw new CliException(tlsCert + " is not a certificate for the key " + (tlsKey == null ? keyFile : tlsKey)
                    + " (give the certificate's key with --tls-key)");
        }
        TrustManager clientTrust = auth == ClientAuth.NONE ? null
                : CertificateChecker.load(clientCa, clientCrl, Clock.systemUTC())
                        .trustManager(Role.CLIENT);
        return PqTls.server(chain, tls.toJca(), groups, clientTrust, auth);
    }
}
