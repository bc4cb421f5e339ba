package io.pqfl.sim.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.cli.Cli;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
                w.printf(dfmt, d.algorithm(), d.implementation(), formatSize(size),
                        String.format(Locale.ROOT, "%.3f", d.medianMs()),
                        String.format(Locale.ROOT, "%.0f", d.throughputMBps()));
                w.flush();
            }
        }
        if (out != null) {
            write(out, schemeResults, digestResults);
            w.printf("%nWrote %s%n", out.resolve("bench.json"));
        }
        w.flush();
        return Cli.OK;
    }

    private static void write(Path dir, List<CryptoBenchmark.SchemeResult> schemes,
                              List<CryptoBenchmark.DigestResult> digests) throws java.io.IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("java", System.getProperty("java.version"));
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("schemes", schemes);
        json.put("digests", digests);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("bench.json").toFile(), json);
        StringBuilder csv = new StringBuilder(
                "scheme,nist_level,public_key_bytes,signature_bytes,keygen_p50_ms,keygen_p99_ms,sign_p50_ms,sign_p99_ms,verify_p50_ms,verify_p99_ms\n");
        for (var r : schemes) {
            csv.append(String.join(",", r.scheme(), Integer.toString(r.nistLevel()), Integer.toString(r.publicKeyBytes()),
                    Integer.toString(r.signatureBytes()), num(r.keygen().medianMs()), num(r.keygen().p99Ms()),
                    num(r.sign().medianMs()), num(r.sign().p99Ms()), num(r.verify().medianMs()),
                    num(r.verify().p99Ms()))).append('\n');
        }
        Files.writeString(dir.resolve("bench-schemes.csv"), csv);
        StringBuilder dcsv = new StringBuilder("algorithm,implementation,payload_bytes,median_ms,throughput_mb_s\n");
        for (var d : digests) {
            dcsv.append(String.join(",", d.algorithm(), d.implementation(), Long.toString(d.payloadBytes()),
                    num(d.medianMs()), num(d.throughputMBps()))).append('\n');
        }
        Files.writeString(dir.resolve("bench-digests.csv"), dcsv);
        plot(dir, schemes, digests);
    }

    /** bench-latency.png (median keygen / sign / verify per scheme, log scale) and bench-digests.png. */
    private static void plot(Path dir, List<CryptoBenchmark.SchemeResult> schemes, List<CryptoBenchmark.DigestResult> digests)
            throws java.io.IOException {
        if (!schemes.isEmpty()) {
            var chart = new org.knowm.xchart.CategoryChartBuilder().width(1100).height(550)
                    .title("Median latency per scheme").yAxisTitle("log10(milliseconds)").build();
            chart.getStyler().setXAxisLabelRotation(45);
            List<String> names = schemes.stream().map(CryptoBenchmark.SchemeResult::scheme).toList();
            // Latencies span five orders of magnitude: plot their logarithm (xchart's log axis rejects bar charts).
            chart.addSeries("keygen", names, schemes.stream().map(r -> Math.log10(r.keygen().medianMs())).toList());
            chart.addSeries("sign", names, schemes.stream().map(r -> Math.log10(r.sign().medianMs())).toList());
            chart.addSeries("verify", names, schemes.stream().map(r -> Math.log10(r.verify().medianMs())).toList());
            org.knowm.xchart.BitmapEncoder.saveBitmap(chart, dir.resolve("bench-latency.png").toString(),
                    org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG);
        }
        if (!digests.isEmpty()) {
            var chart = new org.knowm.xchart.CategoryChartBuilder().width(900).height(500).title("Digest throughput")
                    .xAxisTitle("payload").yAxisTitle("MB/s").build();
            java.util.Map<String, List<CryptoBenchmark.DigestResult>> byImpl = new java.util.LinkedHashMap<>();
            for (var d : digests) {
                byImpl.computeIfAbsent(d.algorithm() + " " + d.implementation(), k -> new ArrayList<>()).add(d);
            }
            for (var e : byImpl.entrySet()) {
                chart.addSeries(e.getKey(), e.getValue().stream().map(d -> formatSize(d.payloadBytes())).toList(),
                        e.getValue().stream().map(CryptoBenchmark.DigestResult::throughputMBps).toList());
            }
            org.knowm.xchart.BitmapEncoder.saveBitmap(chart, dir.resolve("bench-digests.png").toString(),
                    org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
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

    static String formatSize(long bytes) {
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }
}
