package io.pqfl.app.sim;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.Pqfl;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.sim.load.LoadRun;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl bench-load}: many concurrent clients against one real coordinator process on loopback. */
@Command(name = "bench-load", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Load test: N concurrent clients (real signed updates, no training) against a coordinator process "
                + "on loopback; checks nothing is lost or counted twice and reports throughput, upload latency and peak heap.")
public final class LoadCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--clients", defaultValue = "500", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--model", defaultValue = "mlp", description = "Model whose size the updates have (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--scheme", defaultValue = "ML-DSA-65", paramLabel = "SCHEME",
            description = "Client signature scheme (default: ${DEFAULT-VALUE}).")
    SignatureScheme scheme;

    @Option(names = "--transport", defaultValue = "tls", description = "tls (hybrid X25519MLKEM768) or grpc (plaintext) (default: ${DEFAULT-VALUE}).")
    String transport;

    @Option(names = "--identities", defaultValue = "certificates",
            description = "certificates (each client admitted by an ML-DSA certificate in Hello; needs tls) or trust-dir "
                    + "(default: ${DEFAULT-VALUE} with tls, trust-dir with grpc).")
    String identities;

    @Option(names = "--coordinator-heap", defaultValue = "1g", description = "The coordinator process's -Xmx (default: ${DEFAULT-VALUE}).")
    String heap;

    @Option(names = "--round-timeout", defaultValue = "300", description = "Seconds per round (default: ${DEFAULT-VALUE}).")
    int roundTimeout;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/load-TIMESTAMP).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || clients > 60_000 || rounds < 1) {
            throw new CliException("--clients must be 1..60000 and --rounds >= 1");
        }
        if (!transport.equals("tls") && !transport.equals("grpc")) {
            throw new CliException("--transport must be tls or grpc, not '" + transport + "'");
        }
        ModelCatalog m;
        try {
            m = ModelCatalog.byId(model);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        Path dir = out != null ? out : Path.of("runs", "load-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.exists(dir) && Files.list(dir).findAny().isPresent()) {
            throw new CliException(dir + " is not empty");
        }
        PrintWriter w = spec.commandLine().getOut();
        if (!identities.equals("certificates") && !identities.equals("trust-dir")) {
            throw new CliException("--identities must be certificates or trust-dir, not '" + identities + "'");
        }
        boolean tls = transport.equals("tls");
        LoadRun.Settings settings = new LoadRun.Settings(clients, rounds, m, scheme, tls, tls && identities.equals("certificates"),
                heap, Duration.ofSeconds(roundTimeout));
        w.printf("pqfl bench-load: %d clients x %d rounds, %s updates (%.2f MB), %s, %s -> %s%n", clients, rounds, m.id(),
                m.manifest().totalBytes() / 1e6, scheme, transport, dir.toAbsolutePath());
        w.flush();
        LoadRun.Result r = LoadRun.run(settings, Pqfl.class.getName(), dir, line -> {
            w.println("  " + line);
            w.flush();
        });
        LoadRun.writeJson(r, dir.resolve("load.json"));
        w.printf("rounds (s):             %s%n", r.roundSeconds().stream().map(x -> String.format("%.2f", x)).toList());
        w.printf("updates/s per round:    %s%n", r.updatesPerSecond().stream().map(x -> String.format("%.0f", x)).toList());
        w.printf("upload latency:         p50 %.0f ms, p99 %.0f ms, max %.0f ms%n", r.p50UploadMillis(), r.p99UploadMillis(),
                r.maxUploadMillis());
        w.printf("coordinator heap:       peak sampled %.0f MiB (pool peaks %.0f MiB) under -Xmx%s; threads peak %.0f%n",
                r.peakHeapSampledMib(), r.heapPoolPeaksMib(), heap, r.peakThreads());
        w.printf("TLS key exchange:       %s; identities: %s%s%n", r.tlsGroup(),
                settings.certificates() ? "certificates" : "trust directory",
                settings.certificates() ? " (" + r.certified() + " clients admitted by certificate)" : "");
        w.printf("accepted %d (expected %d), rejected %d, client errors %d, ledger %s, receipts %s, model error %.2e%n",
                r.accepted(), clients * rounds, r.rejected(), r.clientErrors(), r.ledgerVerified() ? "verifies" : "DOES NOT VERIFY",
                r.receiptsExact() ? "exact" : "WRONG", r.maxModelError());
        w.printf("%s in %.1f s; %s%n", r.ok() ? "OK" : "FAILED", r.wallMillis() / 1e3, dir.resolve("load.json"));
        w.flush();
        return r.ok() ? Cli.OK : Cli.FAILED;
    }
}
