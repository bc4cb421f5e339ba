package io.pqfl.app.sim;

import io.pqfl.app.Cli;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.sim.bench.CoordinatorBenchmark;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl bench-coordinator}: the coordinator's upload path without the network ({@link CoordinatorBenchmark})
 * in signed updates per second on 1 and 2 threads, beside SHA-512 alone over the same bytes on as many threads
 * (the ratio says how close verification and aggregation come to the digest every update must pay for), and the
 * heap used while FedAvg (streaming) and FedMedian (buffering) aggregate many clients' updates, for the MLP and a
 * large synthetic model. Every figure is the median of {@code --runs} paired runs after one to warm up.
 */
@Command(name = "bench-coordinator", mixinStandardHelpOptions = true,
        description = "Measure the coordinator's verification throughput (1 vs 2 threads) against SHA-512 over the same "
                + "bytes, and aggregation memory.")
public final class CoordinatorBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scheme", defaultValue = "ML-DSA-65", description = "Client signature scheme (default: ${DEFAULT-VALUE}).")
    SignatureScheme scheme;

    @Option(names = "--small-clients", defaultValue = "200", description = "Updates for the small model (default: ${DEFAULT-VALUE}).")
    int smallClients;

    @Option(names = "--large-clients", defaultValue = "16", description = "Updates for the ~50 MB model (default: ${DEFAULT-VALUE}).")
    int largeClients;

    @Option(names = "--large-mib", defaultValue = "50", description = "Size of the large model in MiB (default: ${DEFAULT-VALUE}).")
    int largeMib;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs per row; medians are shown (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ModelManifest small = ModelCatalog.MLP.manifest();
        ModelManifest large = new ModelManifest("synthetic", List.of(TensorSpec.of("w", largeMib * 256, 1024)));
        if (runs < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--runs must be >= 1, got " + runs);
        }
        w.printf("pqfl bench-coordinator: %s client signatures, %d cores, max heap %d MiB, median of %d runs%n", scheme,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, runs);
        String fmt = "%-31s %7s %7s %10s %9s %12s %6s %13s%n";
        w.printf(fmt, "MODEL", "UPDATES", "THREADS", "UPDATES/s", "MB/s", "SHA-512 MB/s", "RATIO", "PEAK HEAP MiB");
        w.flush();
        List<String> breakdowns = new java.util.ArrayList<>();
        for (ModelManifest m : List.of(small, large)) {
            int clients = m == small ? smallClients : largeClients;
            CoordinatorBenchmark.Fixture f = CoordinatorBenchmark.fixture(m, clients, scheme);
            for (int threads : new int[] {1, 2}) {
                row(w, fmt, label(m), clients, threads, f.compare(runs, threads, "fedavg"));
            }
            row(w, fmt, label(m) + " (fedmedian)", clients, 2, f.compare(runs, 2, "fedmedian"));
            CoordinatorBenchmark.Breakdown b = f.breakdown(runs, "fedavg");
            breakdowns.add(String.format(Locale.ROOT, "%-31s %9.1f %14.1f %9.1f %10.1f %6.1f %13.1f %6.2f %8.2f",
                    label(m), b.receiveMicros(), b.sha512Micros(), b.decodeMicros(), b.signatureMicros(), b.foldMicros(),
                    b.headerMicros(), b.ratio(), b.ceiling()));
        }
        w.printf("%nOne update on one thread, fedavg, microseconds (median of %d runs); RATIO: SHA-512's time over the "
                + "path's, the two timed update by update; CEILING: the ratio if decoding cost nothing%n", runs);
        w.printf("%-31s %9s %14s %9s %10s %6s %13s %6s %8s%n", "MODEL", "RECEIVE", "(SHA-512 ALONE", "+ DECODE)",
                "SIGNATURE", "FOLD", "HEADER CHECK", "RATIO", "CEILING");
        breakdowns.forEach(w::println);
        return Cli.OK;
    }

    private static void row(PrintWriter w, String fmt, String label, int clients, int threads,
                            CoordinatorBenchmark.Comparison c) {
        w.printf(fmt, label, clients, threads, fmt1(c.perSecond()), fmt1(c.mbPerSecond()), fmt1(c.sha512MbPerSecond()),
                String.format(Locale.ROOT, "%.2f", c.ratio()), c.peakHeapMib());
        w.flush();
    }

    private static String label(ModelManifest m) {
        return m.architecture() + " (" + String.format(Locale.ROOT, "%.1f", m.totalBytes() / 1e6) + " MB)";
    }

    private static String fmt1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
