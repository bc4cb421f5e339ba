package io.pqfl.app.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.pqfl.app.Cli;
import io.pqfl.app.DataOptions;
import io.pqfl.app.CliException;
import io.pqfl.app.PasswordOptions;
import io.pqfl.app.UsageException;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.agent.ClientState;
import io.pqfl.client.agent.LogProgress;
import io.pqfl.app.TrainerChoice;
import io.pqfl.client.train.DjlTrainer;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerOptions;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl client}: join a federation, train locally, send signed updates. */
@Command(name = "client", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Join a coordinator as a client: verify each global model against the pinned coordinator key,",
            "train on local data that never leaves this machine, and send signed updates until the run ends.",
            "It connects with TLS 1.3 (--tls-ca), or without TLS only when asked with --plaintext."})
public final class ClientCommand implements Callable<Integer> {
    static final String NO_TLS = "no TLS configured: give --tls-ca (the federation CA certificate; see `pqfl coordinator init`) "
            + "or --plaintext to connect with unencrypted gRPC on purpose";
    private static final Pattern ADDRESS = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([^:\\[\\]]+)):(\\d{1,5})");

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Read settings from a properties file.")
    Path config;

    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's address.")
    String coordinator;

    @Option(names = "--client-id", required = true, description = "This client's id, as enrolled at the coordinator.")
    String clientId;

    @Option(names = "--key", required = true, paramLabel = "FILE", description = "This client's private key (.key).")
    Path key;

    @Mixin
    PasswordOptions password;

    @Option(names = "--coordinator-key", required = true, paramLabel = "FILE",
            description = "The coordinator's public key (.pub), pinned: models it did not sign are refused.")
    Path coordinatorKey;

    @Mixin
    DataOptions data;

    @Mixin
    TrainerChoice trainerChoice;

    @Mixin
    io.pqfl.app.LocalDpOptions localDp;

    @Option(names = "--partition", defaultValue = "all", paramLabel = "SPEC",
            description = "Which training examples are this client's: all, FROM-TO, K/N or @FILE (default: ${DEFAULT-VALUE}).")
    String partition;

    @Option(names = "--eval-fraction", defaultValue = "0.1",
            description = "Share of this client's examples (the last ones of its partition) held out for local evaluation, "
                    + "never trained on (default: ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch threads; 0 leaves the engine's default.")
    int threads;

    @Option(names = "--seed", defaultValue = "1", description = "Seed for shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "Connect with TLS 1.3, trusting coordinators certified by this federation CA certificate.")
    Path tlsCa;

    @Option(names = "--tls-crl", paramLabel = "FILE",
            description = "The federation CA's revocation list: refuse a coordinator whose certificate is on it.")
    Path tlsCrl;

    @Option(names = "--plaintext",
            description = "Connect with unencrypted gRPC on purpose (updates and models are still signed, but the channel "
                    + "is not confidential). Without it, --tls-ca is required.")
    boolean plaintext;

    @Option(names = "--tls-key-exchange", defaultValue = "hybrid", paramLabel = "MODE",
            description = "hybrid (X25519MLKEM768 first), pq-only or classical (default: ${DEFAULT-VALUE}).")
    String keyExchange;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "This client's certificate from the federation CA (its key must be --key): sent in Hello, "
                    + "and presented in the TLS handshake when the coordinator asks.")
    Path cert;

    @Option(names = "--enroll-token-file", paramLabel = "FILE",
            description = "Enroll this client's key with the one-time token in FILE before joining.")
    Path enrollTokenFile;

    @Option(names = "--poll", defaultValue = "20", description = "Seconds each task poll may wait (default: ${DEFAULT-VALUE}).")
    int pollSeconds;

    @Option(names = "--state-file", paramLabel = "FILE",
            description = "Where the newest task and model round accepted per federation are kept, so an older task or "
                    + "model is refused across restarts (default: ~/.pqfl/client-state/CLIENT-ID.properties).")
    Path stateFile;

    @Override
    public Integer call() throws Exception {
        checkTransport();
        if (threads > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        System.setProperty("ai.djl.offline", "true");
        SigningKey signingKey = KeyPem.readSigningKey(key, password.password());
        VerifyingKey pinned = KeyPem.readVerifyingKey(coordinatorKey);
        ClientId id;
        try {
            id = new ClientId(clientId);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new CliException("--eval-fraction must be in [0, 1), got " + evalFraction);
        }
        Address address = Address.parse(coordinator);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, String> trainerOptions = trainerChoice.options(dataOptions());
        Trainer trainer;
        try {
            trainer = trainerChoice.factory().create(new TrainerOptions(trainerOptions, seed, device));
        } catch (TrainerException e) {
            throw new CliException(e.getMessage(), e);
        }
        try {
            return run(id, signingKey, pinned, address, out, trainer, trainerOptions);
        } finally {
            trainer.close();
        }
    }

    /**
     * The data options as trainer options: always for the djl trainer (with their defaults), for another trainer only
     * those given on the command line.
     */
    private Map<String, String> dataOptions() {
        var parsed = spec.commandLine().getParseResult();
        boolean all = trainerChoice.djl();
        Map<String, String> o = new LinkedHashMap<>(data.toOptions(parsed, all));
        if (all || parsed.hasMatchedOption("--partition")) {
            o.put("partition", partition);
        }
        if (all || parsed.hasMatchedOption("--eval-fraction")) {
            o.put("eval-fraction", Double.toString(evalFraction));
        }
        return o;
    }

    private Integer run(ClientId id, SigningKey signingKey, VerifyingKey pinned, Address address, PrintWriter out,
                        Trainer trainer, Map<String, String> trainerOptions) throws Exception {
        if (trainer instanceof DjlTrainer djl) {
            out.printf("pqfl client %s: %d training and %d held-out examples from %s (%s), coordinator %s, pinned key %s%n",
                    id, djl.trainExamples(), djl.evalExamples(), trainerOptions.get("data"), trainerOptions.get("partition"),
                    coordinator, pinned.keyId());
        } else {
            out.printf("pqfl client %s: trainer %s (model %s), coordinator %s, pinned key %s%n", id,
                    trainer.getClass().getName(), trainer.manifest().architecture(), coordinator, pinned.keyId());
        }
        out.flush();
        ClientAgent.Settings.Builder settings = ClientAgent.Settings.builder(id, signingKey, pinned).device(device)
                .pollWait(Duration.ofSeconds(pollSeconds)).seed(seed);
        List<X509Certificate> chain = null;
        if (cert != null) {
            chain = Certificates.readAll(cert);
            if (!Arrays.equals(chain.get(0).getPublicKey().getEncoded(), signingKey.verifyingKey().encoded())) {
                throw new CliException(cert + " is not a certificate for " + key + ": a client's certificate must carry the "
                        + "key that signs its updates");
            }
            settings.certificate(chain.get(0).getEncoded());
        }
        if (enrollTokenFile != null) {
            String token = Files.readString(enrollTokenFile).strip();
            if (token.isEmpty()) {
                throw new CliException(enrollTokenFile + ": the token file is empty");
            }
            settings.enrollToken(token);
        }
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(address.host(), address.port())
                .maxInboundMessageSize(8 << 20);
        if (tlsCa != null) {
            KeyExchange groups;
            try {
                groups = KeyExchange.parse(keyExchange);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage(), e);
            }
            builder.sslContext(PqTls.client(Certificates.readAll(tlsCa),
                    tlsCrl == null ? null : Certificates.readCrl(tlsCrl), chain,
                    chain == null ? null : signingKey.toJca(), groups));
        } else {
            builder.usePlaintext();
            org.slf4j.LoggerFactory.getLogger(ClientCommand.class).warn("Connecting without TLS: updates and models are "
                    + "signed, but the channel is not confidential; give --tls-ca for TLS 1.3 with X25519MLKEM768");
        }
        Path state = stateFile != null ? stateFile
                : Path.of(System.getProperty("user.home"), ".pqfl", "client-state", id.value() + ".properties");
        ClientState remembered;
        try {
            remembered = ClientState.load(state);
        } catch (java.io.IOException e) {
            throw new CliException(e.getMessage(), e);
        }
        ManagedChannel channel = builder.build();
        ClientAgent.Hooks.Builder hooks = ClientAgent.Hooks.builder().rememberIn(remembered);
        io.pqfl.client.agent.LocalDp privacy = localDp.on() ? localDp.newTransform() : null;
        if (privacy != null) {
            hooks.transformUpdates(privacy);
        }
        ClientAgent agent = new ClientAgent(channel, settings.build(), hooks.build(), trainer, LogProgress.auto());
        Thread hook = new Thread(agent::stop, "pqfl-client-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            ClientAgent.Summary s = agent.run();
            out.printf("%s: %d rounds trained, %d updates accepted, %d rejected, %d models refused%s%n",
                    s.finished() ? "Federation finished" : "Stopped", s.roundsTrained(), s.updatesAccepted(),
                    s.updatesRejected(), s.modelsRefused(),
                    s.trainingFailures() > 0 ? ", training failed in " + s.trainingFailures() + " rounds" : "");
            if (privacy != null) {
                out.println(privacy);
            }
            out.flush();
            return (s.modelsRefused() > 0 || s.trainingFailures() > 0) && !s.finished() ? Cli.FAILED : Cli.OK;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The coordinator's address: HOST:PORT, or [IPv6]:PORT. */
    record Address(String host, int port) {
        static Address parse(String text) {
            Matcher m = ADDRESS.matcher(text);
            int port = m.matches() ? Integer.parseInt(m.group(3)) : 0;
            if (port < 1 || port > 65535) {
                throw new CliException("--coordinator must be HOST:PORT or [IPv6]:PORT, got '" + text + "'");
            }
            return new Address(m.group(1) != null ? m.group(1) : m.group(2), port);
        }
    }

    /**
     * Plaintext only by name: without --plaintext the client needs the CA to check the coordinator's
     * certificate, and --plaintext with TLS options is a contradiction. Checked before any file is read.
     */
    private void checkTransport() {
        List<String> tlsOptions = new ArrayList<>();
        if (tlsCa != null) {
            tlsOptions.add("--tls-ca");
        }
        if (tlsCrl != null) {
            tlsOptions.add("--tls-crl");
        }
        if (!keyExchange.equals("hybrid") || spec.commandLine().getParseResult().hasMatchedOption("--tls-key-exchange")) {
            tlsOptions.add("--tls-key-exchange");
        }
        if (plaintext && !tlsOptions.isEmpty()) {
            throw new UsageException("--plaintext conflicts with " + String.join(", ", tlsOptions)
                    + ": give TLS options or --plaintext, not both");
        }
        if (!plaintext && tlsCa == null) {
            throw new UsageException(tlsOptions.isEmpty() ? NO_TLS
                    : String.join(", ", tlsOptions) + " without --tls-ca: give --tls-ca (see `pqfl coordinator init`)");
        }
    }
}
