package io.pqfl.sim.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChartBuilder;

/** The files a {@link CryptoBenchmark} run leaves: bench.json, bench-schemes.csv, bench-digests.csv and two plots. */
public final class BenchReport {
    private BenchReport() {
    }

    /** Writes the results into {@code dir} (created if needed). */
    public static void write(Path dir, List<CryptoBenchmark.SchemeResult> schemes,
                             List<CryptoBenchmark.DigestResult> digests) throws IOException {
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
            throws IOException {
        if (!schemes.isEmpty()) {
            var chart = new CategoryChartBuilder().width(1100).height(550)
                    .title("Median latency per scheme").yAxisTitle("log10(milliseconds)").build();
            chart.getStyler().setXAxisLabelRotation(45);
            List<String> names = schemes.stream().map(CryptoBenchmark.SchemeResult::scheme).toList();
            // Latencies span five orders of magnitude: plot their logarithm (xchart's log axis rejects bar charts).
            chart.addSeries("keygen", names, schemes.stream().map(r -> Math.log10(r.keygen().medianMs())).toList());
            chart.addSeries("sign", names, schemes.stream().map(r -> Math.log10(r.sign().medianMs())).toList());
            chart.addSeries("verify", names, schemes.stream().map(r -> Math.log10(r.verify().medianMs())).toList());
            BitmapEncoder.saveBitmap(chart, dir.resolve("bench-latency.png").toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
        if (!digests.isEmpty()) {
            var chart = new CategoryChartBuilder().width(900).height(500).title("Digest throughput")
                    .xAxisTitle("payload").yAxisTitle("MB/s").build();
            Map<String, List<CryptoBenchmark.DigestResult>> byImpl = new LinkedHashMap<>();
            for (var d : digests) {
                byImpl.computeIfAbsent(d.algorithm() + " " + d.implementation(), k -> new ArrayList<>()).add(d);
            }
            for (var e : byImpl.entrySet()) {
                chart.addSeries(e.getKey(), e.getValue().stream().map(d -> formatSize(d.payloadBytes())).toList(),
                        e.getValue().stream().map(CryptoBenchmark.DigestResult::throughputMBps).toList());
            }
            BitmapEncoder.saveBitmap(chart, dir.resolve("bench-digests.png").toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    /** A payload size as the tables show it: {@code 64 KiB}, {@code 10 MiB}, {@code 300 B}. */
    public static String formatSize(long bytes) {
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }
}
