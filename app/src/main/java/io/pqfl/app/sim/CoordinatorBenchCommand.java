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
 * in signed updates per second on 1 and 2 threads, and the heap used while FedAvg (streaming) and FedMedian
 * (buffering) aggregate many clients' updates, for the MLP and a large synthetic model.
 */
@Command(name = "bench-coordinator", mixinStandardHelpOptions = true,
        description = "Measure the coordinator's verification throughput (1 vs 2 threads) and aggregation memory.")
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

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ModelManifest small = ModelCatalog.MLP.manifest();
        ModelManifest large = new ModelManifest("synthetic", List.of(TensorSpec.of("w", largeMib * 256, 1024)));
        w.printf("pqfl bench-coordinator: %s client signatures, %d cores, max heap %d MiB%n", scheme,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        String fmt = "%-28s %8s %8s %12s %12s %14s%n";
        w.printf(fmt, "MODEL", "UPDATES", "THREADS", "UPDATES/s", "MB/s", "PEAK HEAP MiB");
        w.flush();
        for (ModelManifest m : List.of(small, large)) {
            int clients = m == small ? smallClients : largeClients;
            CoordinatorBenchmark.Fixture f = CoordinatorBenchmark.fixture(m, clients, scheme);
            for (int threads : new int[] {1, 2}) {
                CoordinatorBenchmark.Result r = f.verifyAll(threads, "fedavg");
                w.printf(fmt, label(m), clients, threads, fmt1(r.perSecond()), fmt1(r.mbPerSecond()), r.peakHeapMib());
                w.flush();
            }
            CoordinatorBenchmark.Result median = f.verifyAll(2, "fedmedian");
            w.printf(fmt, label(m) + " (fedmedian)", clients, 2, fmt1(median.perSecond()), fmt1(median.mbPerSecond()), median.peakHeapMib());
            w.flush();
        }
        return Cli.OK;
    }

    private static String label(ModelManifest m) {
        return m.architecture() + " (" + String.format(Locale.ROOT, "%.1f", m.totalBytes() / 1e6) + " MB)";
    }

    private static String fmt1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
