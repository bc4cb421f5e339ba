package io.pqfl.app.sim;

import io.pqfl.app.Cli;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.sim.bench.BenchReport;
import io.pqfl.sim.bench.CryptoBenchmark;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl bench}: signature and digest costs on this machine. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure key generation, signing, verification (median, p99) and sizes per scheme, "
                + "and payload digest throughput.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--schemes", split = ",", paramLabel = "SCHEME",
            description = "Schemes to measure (default: all).")
    List<SignatureScheme> schemes;

    @Option(names = "--samples", defaultValue = "200", description = "Most samples per operation (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--min-samples", defaultValue = "5", description = "Fewest samples per operation (default: ${DEFAULT-VALUE}).")
    int minSamples;

    @Option(names = "--budget-ms", defaultValue = "2000",
            description = "Time per operation after which sampling stops once --min-samples are in (default: ${DEFAULT-VALUE}).")
    long budgetMs;

    @Option(names = "--payload-sizes", split = ",", defaultValue = "1KiB,64KiB,1MiB,10MiB,100MiB",
            description = "Payload sizes for digest throughput (default: ${DEFAULT-VALUE}).")
    List<String> payloadSizes;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write bench.json and bench-*.csv into DIR.")
    Path out;

    @Override
    public Integer call() throws Exception {
        List<SignatureScheme> which = schemes == null || schemes.isEmpty() ? List.of(SignatureScheme.values()) : schemes;
        if (minSamples < 1 || samples < minSamples) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "need 1 <= --min-samples <= --samples");
        }
        List<Long> sizes = new ArrayList<>();
        for (String s : payloadSizes) {
            sizes.add(parseSize(s));
        }
        CryptoBenchmark bench = new CryptoBenchmark(
                new CryptoBenchmark.Settings(minSamples, samples, Duration.ofMillis(budgetMs), 3));
        PrintWriter w = spec.commandLine().getOut();
        w.printf("pqfl bench on %s %s, %d cores%n", System.getProperty("java.vm.name"),
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
        String fmt = "%-19s %-5s %8s %8s  %10s %10s  %10s %10s  %10s %10s%n";
        w.printf(fmt, "SCHEME", "LEVEL", "PK(B)", "SIG(B)", "KEYGEN p50", "p99", "SIGN p50", "p99", "VERIFY p50", "p99");
        w.flush();
        List<CryptoBenchmark.SchemeResult> schemeResults = new ArrayList<>();
        for (SignatureScheme scheme : which) {
            CryptoBenchmark.SchemeResult r = bench.measure(scheme);
            schemeResults.add(r);
            w.printf(fmt, r.scheme(), r.nistLevel() == 0 ? "-" : Integer.toString(r.nistLevel()), r.publicKeyBytes(),
                    r.signatureBytes(), ms(r.keygen().medianMs()), ms(r.keygen().p99Ms()), ms(r.sign().medianMs()),
                    ms(r.sign().p99Ms()), ms(r.verify().medianMs()), ms(r.verify().p99Ms()));
            w.flush();
        }
        w.println();
        String dfmt = "%-10s %-26s %10s %12s %12s%n";
        w.printf(dfmt, "DIGEST", "IMPLEMENTATION", "PAYLOAD", "MEDIAN(ms)", "MB/s");
        List<CryptoBenchmark.DigestResult> digestResults = new ArrayList<>();
        for (long size : sizes) {
            for (CryptoBenchmark.DigestResult d : bench.measureDigests(size)) {
                digestResults.add(d);
                w.printf(dfmt, d.algorithm(), d.implementation(), BenchReport.formatSize(size),
                        String.format(Locale.ROOT, "%.3f", d.medianMs()),
                        String.format(Locale.ROOT, "%.0f", d.throughputMBps()));
                w.flush();
            }
        }
        if (out != null) {
            BenchReport.write(out, schemeResults, digestResults);
            w.printf("%nWrote %s%n", out.resolve("bench.json"));
        }
        w.flush();
        return Cli.OK;
    }

    private static String ms(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f ms", v) : String.format(Locale.ROOT, "%.3f ms", v);
    }

    static long parseSize(String text) {
        String t = text.trim();
        long unit = 1;
        String upper = t.toUpperCase(Locale.ROOT);
        if (upper.endsWith("KIB")) {
            unit = 1L << 10;
        } else if (upper.endsWith("MIB")) {
            unit = 1L << 20;
        } else if (upper.endsWith("GIB")) {
            unit = 1L << 30;
        }
        String digits = unit == 1 ? t : t.substring(0, t.length() - 3);
        try {
            long value = Long.parseLong(digits.trim()) * unit;
            if (value <= 0) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad payload size '" + text + "': use e.g. 1KiB, 10MiB or a byte count");
        }
    }
}
