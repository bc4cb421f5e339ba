package io.pqfl.sim.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.sim.SimulationRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** Writes a simulation's run directory: results.csv, results.json, PNG plots and report.html. */
public final class ReportWriter {
    /** Per-arm figures for tables and plots. */
    public record ArmSummary(String arm, String scheme, String attacks, double initialAccuracy, double finalAccuracy,
                             int completedRounds, int rounds, double meanRoundMillis, double meanTrainMillis,
                             double meanDigestMillis, double meanSignMillis, double meanVerifyMillis, double signatureBytes,
                             double updateBytes, double cryptoSharePercent, Double overheadVsUnsignedPercent,
                             Double overheadLowPercent, Double overheadHighPercent, int accepted, int rejected, Map<String, Integer> rejections, Double federatedLoss,
                             Double federatedAccuracy, long federatedExamples) {
    }

    private ReportWriter() {
    }

    public static List<ArmSummary> summarize(List<SimulationRunner.Result> results) {
        List<ArmSummary> out = new ArrayList<>();
        for (SimulationRunner.Result r : results) {
            // The unsigned, unattacked arm on the same model and data is the baseline for this arm's overhead.
            SimulationRunner.Result baseline = results.stream().filter(u -> u.spec().signing() == SigningPolicy.UNSIGNED_BASELINE
                            && !u.spec().attacks().any()
                            && u.spec().model() == r.spec().model() && u.spec().partition() == r.spec().partition())
                    .findFirst().orElse(null);
            Double unsignedRound = baseline == null ? null : mean(baseline.rounds(), x -> x.wallMillis());
            double round = mean(r.rounds(), x -> x.wallMillis());
            double digest = mean(r.clients(), SimulationRunner.ClientRound::digestMillis);
            double sign = mean(r.clients(), SimulationRunner.ClientRound::signMillis);
            double verify = mean(r.clients().stream().filter(SimulationRunner.ClientRound::accepted).toList(),
                    SimulationRunner.ClientRound::verifyMillis);
            int accepted = (int) r.clients().stream().filter(SimulationRunner.ClientRound::accepted).count();
            int rejected = r.rejections().values().stream().mapToInt(Integer::intValue).sum();
            // One overhead per round (round r of this arm against round r of the baseline), reported as their median
            // and range: a single number from two noisy means would present the machine's noise as a cost.
            double[] perRound = baseline == null || r.spec().signing() != SigningPolicy.SIGNED || r.spec().attacks().any()
                    ? new double[0] : roundOverheads(r, baseline);
            Double overhead = perRound.length == 0 ? null : median(perRound);
            Double low = perRound.length == 0 ? null : perRound[0];
            Double high = perRound.length == 0 ? null : perRound[perRound.length - 1];
            out.add(new ArmSummary(r.spec().arm(), r.spec().schemeLabel(),
                    r.spec().attacks().toString(), r.initialAccuracy(), r.finalAccuracy(),
                    (int) r.rounds().stream().filter(SimulationRunner.Round::completed).count(), r.rounds().size(), round,
                    mean(r.clients(), x -> x.trainMillis()), digest, sign, verify,
                    mean(r.clients(), x -> x.signatureBytes()), mean(r.clients(), x -> x.updateBytes()),
                    round == 0 ? 0 : 100 * (digest + sign + verify) / round, overhead, low, high, accepted, rejected,
                    r.rejections(),
                    r.federated() == null || r.federated().empty() ? null : r.federated().loss(),
                    r.federated() == null ? null : r.federated().metrics().get("accuracy"),
                    r.federated() == null ? 0 : r.federated().examples()));
        }
        return out;
    }

    /** Each round's overhead in percent against the same round of {@code baseline} (completed rounds of both), sorted. */
    static double[] roundOverheads(SimulationRunner.Result arm, SimulationRunner.Result baseline) {
        List<Double> out = new ArrayList<>();
        for (SimulationRunner.Round a : arm.rounds()) {
            for (SimulationRunner.Round b : baseline.rounds()) {
                if (a.round() == b.round() && a.completed() && b.completed() && b.wallMillis() > 0) {
                    out.add(100.0 * (a.wallMillis() - b.wallMillis()) / b.wallMillis());
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** An overhead as "median [low, high]" (the range over rounds), or "-" when there is none. */
    static String overhead(ArmSummary s) {
        if (s.overheadVsUnsignedPercent() == null) {
            return "-";
        }
        return f1(s.overheadVsUnsignedPercent()) + " [" + f1(s.overheadLowPercent()) + ", " + f1(s.overheadHighPercent()) + "]";
    }

    private static <T> double mean(List<T> items, ToDoubleFunction<T> f) {
        return items.stream().mapToDouble(f).average().orElse(0);
    }

    public static void write(Path dir, Map<String, Object> settings, List<SimulationRunner.Result> results,
                             List<ArmSummary> summary) throws IOException {
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("arm,scheme,attacks,round,client,attack,train_ms,digest_ms,sign_ms,verify_ms,"
                + "update_bytes,signature_bytes,upload_ms,accepted,reason,round_completed,round_wall_ms,global_accuracy,global_loss\n");
        for (SimulationRunner.Result r : results) {
            for (SimulationRunner.ClientRound c : r.clients()) {
                SimulationRunner.Round round = r.rounds().stream().filter(x -> x.round() == c.round()).findFirst().orElse(null);
                csv.append(String.join(",", c.arm(), r.spec().schemeLabel(),
                        quote(r.spec().attacks().toString()), Long.toString(c.round()), c.client(), c.attack(),
                        Long.toString(c.trainMillis()), num(c.digestMillis()), num(c.signMillis()), num(c.verifyMillis()),
                        Long.toString(c.updateBytes()), Integer.toString(c.signatureBytes()), Long.toString(c.uploadMillis()),
                        Boolean.toString(c.accepted()), c.reason() == null ? "" : c.reason(),
                        round == null ? "" : Boolean.toString(round.completed()),
                        round == null ? "" : Long.toString(round.wallMillis()),
                        round == null ? "" : num(round.accuracy()), round == null ? "" : num(round.loss()))).append('\n');
            }
        }
        Files.writeString(dir.resolve("results.csv"), csv);

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("settings", settings);
        json.put("summary", summary);
        List<Map<String, Object>> arms = new ArrayList<>();
        for (SimulationRunner.Result r : results) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("arm", r.spec().arm());
            a.put("scheme", r.spec().schemeLabel());
            a.put("attacks", r.spec().attacks().toString());
            a.put("channel", r.channel());
            a.put("initialAccuracy", r.initialAccuracy());
            if (r.privateArm()) {
                // central differential privacy (docs/PRIVACY.md): the epsilon the arm spent, at the settings' delta
                a.put("dp", r.spec().dp().toString());
                a.put("epsilon", r.epsilon());
                a.put("dpDelta", r.spec().dp().delta());
                // the norm the rounds ended with; each round's own clip norm and epsilon are in "rounds"
                a.put("clipNorm", r.clipNorm());
            }
            if (r.secureArm()) {
                // secure aggregation (docs/PRIVACY.md): the coordinator's protocol time over all rounds; each client's
                // protocol bytes and computation are its rows' updateBytes and signMillis
                a.put("secureAggregation", r.spec().secureAggregation().toString());
                a.put("secAggCoordinatorMillis", r.secAggCoordinatorMillis());
            }
            if (!Double.isNaN(r.localEpsilon())) {
                a.put("localEpsilon", r.localEpsilon()); // local DP: the largest epsilon any client reached
            }
            a.put("rounds", r.rounds());
            a.put("clients", r.clients());
            a.put("rejections", r.rejections());
            arms.add(a);
        }
        json.put("arms", arms);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("results.json").toFile(), json);

        plots(dir, results, summary);
        Files.writeString(dir.resolve("report.html"), html(settings, summary, privacy(results)));
    }

    /** The report's per-round table of every arm with central differential privacy; empty when there is none. */
    static String privacy(List<SimulationRunner.Result> results) {
        StringBuilder rows = new StringBuilder();
        for (SimulationRunner.Result r : results) {
            if (!r.privateArm()) {
                continue;
            }
            for (SimulationRunner.Round round : r.rounds()) {
                rows.append("<tr><td>").append(esc(r.spec().arm())).append("</td><td>").append(round.round())
                        .append("</td><td>").append(pct(round.accuracy())).append("</td><td>")
                        .append(round.epsilon() == null ? "-" : f4(round.epsilon())).append("</td><td>")
                        .append(round.roundEpsilon() == null ? "-" : f4(round.roundEpsilon())).append("</td><td>")
                        .append(round.clipNorm() == null ? "-" : String.format(Locale.ROOT, "%.4g", round.clipNorm()))
                        .append("</td></tr>\n");
            }
        }
        if (rows.length() == 0) {
            return "";
        }
        return "<h2>Differential privacy</h2>\n<p>Central DP (docs/PRIVACY.md): epsilon spent by all rounds so far and by"
                + " each round alone, at the arm's delta; the L2 norm the round's updates were clipped to.</p>\n"
                + "<table><tr><th>arm</th><th>round</th><th>accuracy</th><th>epsilon</th><th>round epsilon</th>"
                + "<th>clip norm</th></tr>\n" + rows + "</table>\n";
    }

    private static void plots(Path dir, List<SimulationRunner.Result> results, List<ArmSummary> summary) throws IOException {
        XYChart accuracy = new XYChartBuilder().width(800).height(500).title("Global model test accuracy per round")
                .xAxisTitle("round").yAxisTitle("accuracy").build();
        accuracy.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        for (SimulationRunner.Result r : results) {
            List<Double> x = new ArrayList<>(List.of(0.0));
            List<Double> y = new ArrayList<>(List.of(r.initialAccuracy()));
            for (SimulationRunner.Round round : r.rounds()) {
                x.add((double) round.round());
                y.add(round.accuracy());
            }
            accuracy.addSeries(r.spec().arm(), x, y);
        }
        BitmapEncoder.saveBitmap(accuracy, dir.resolve("accuracy.png").toString(), BitmapEncoder.BitmapFormat.PNG);

        List<String> arms = summary.stream().map(ArmSummary::arm).toList();
        bar(dir, "overhead.png", "Signature work as a share of round time", "% of mean round wall time", arms,
                Map.of("digest + sign + verify", summary.stream().map(ArmSummary::cryptoSharePercent).toList()));
        Map<String, List<Double>> latency = new LinkedHashMap<>();
        latency.put("sign (client)", summary.stream().map(ArmSummary::meanSignMillis).toList());
        latency.put("verify (coordinator)", summary.stream().map(ArmSummary::meanVerifyMillis).toList());
        latency.put("digest (client)", summary.stream().map(ArmSummary::meanDigestMillis).toList());
        bar(dir, "latency.png", "Mean signing, verification and digest time per update", "milliseconds", arms, latency);
        Map<String, List<Double>> bytes = new LinkedHashMap<>();
        bytes.put("signature", summary.stream().map(ArmSummary::signatureBytes).toList());
        bar(dir, "bytes.png", "Signature bytes per update (update tensors: "
                + String.format(Locale.ROOT, "%.0f", summary.isEmpty() ? 0 : summary.get(0).updateBytes()) + " bytes)",
                "bytes", arms, bytes);
    }

    private static void bar(Path dir, String file, String title, String yTitle, List<String> arms,
                            Map<String, List<Double>> series) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500).title(title).yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        for (var e : series.entrySet()) {
            chart.addSeries(e.getKey(), arms, e.getValue());
        }
        BitmapEncoder.saveBitmap(chart, dir.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** The console and report table. */
    public static String table(List<ArmSummary> summary) {
        StringBuilder b = new StringBuilder();
        String fmt = "%-26s %-18s %7s %7s %9s %9s %9s %9s %8s %22s %9s  %s%n";
        b.append(String.format(Locale.ROOT, fmt, "ARM", "ATTACKS", "ACC0", "ACC", "ROUND ms", "SIGN ms", "VERIFY ms",
                "SIG B", "CRYPTO%", "OVERHD%", "ACC/REJ", "REJECTED BY REASON"));
        for (ArmSummary s : summary) {
            b.append(String.format(Locale.ROOT, fmt, s.arm(), s.attacks(), pct(s.initialAccuracy()), pct(s.finalAccuracy()),
                    f1(s.meanRoundMillis()), f3(s.meanSignMillis()), f3(s.meanVerifyMillis()), f1(s.signatureBytes()),
                    f2(s.cryptoSharePercent()), overhead(s),
                    s.accepted() + "/" + s.rejected(), s.rejections().isEmpty() ? "-" : s.rejections().toString()));
        }
        return b.toString();
    }

    private static String html(Map<String, Object> settings, List<ArmSummary> summary, String privacy) {
        StringBuilder rows = new StringBuilder();
        for (ArmSummary s : summary) {
            rows.append("<tr><td>").append(esc(s.arm())).append("</td><td>").append(esc(s.scheme())).append("</td><td>")
                    .append(esc(s.attacks())).append("</td><td>").append(pct(s.initialAccuracy())).append("</td><td>")
                    .append(pct(s.finalAccuracy())).append("</td><td>").append(s.completedRounds()).append('/').append(s.rounds())
                    .append("</td><td>").append(f1(s.meanRoundMillis())).append("</td><td>").append(f1(s.meanTrainMillis()))
                    .append("</td><td>").append(f3(s.meanDigestMillis())).append("</td><td>").append(f3(s.meanSignMillis()))
                    .append("</td><td>").append(f3(s.meanVerifyMillis())).append("</td><td>").append(f1(s.signatureBytes()))
                    .append("</td><td>").append(f2(s.cryptoSharePercent())).append("</td><td>")
                    .append(overhead(s))
                    .append("</td><td>").append(s.accepted()).append("</td><td>")
                    .append(esc(s.rejections().isEmpty() ? "-" : s.rejections().toString())).append("</td></tr>\n");
        }
        StringBuilder set = new StringBuilder();
        settings.forEach((k, v) -> set.append("<tr><td>").append(esc(k)).append("</td><td>").append(esc(String.valueOf(v)))
                .append("</td></tr>\n"));
        return """
                <!doctype html>
                <html><head><meta charset="utf-8"><title>pqfl simulation report</title>
                <style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}
                td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
                img{max-width:100%%;border:1px solid #eee;margin:0.5em 0}</style></head><body>
                <h1>pqfl simulation report</h1>
                <p>Real federations (coordinator and client agents of pqfl, real gRPC, DJL training on Fashion-MNIST), one per
                arm. Accuracy is the global model's on held-out test examples after each round. Times are means per update
                (sign, digest: client; verify: coordinator, including the one-pass digest and decode of the update) and per
                round (wall time, open to close). CRYPTO%% is (digest + sign + verify) / round time; OVERHD%% compares each round's
                time with the same round of the unsigned arm in the same run: the median over rounds, and in brackets the
                lowest and highest (a range that holds 0 is noise, not a cost).</p>
                <h2>Summary</h2>
                <table><tr><th>arm</th><th>scheme</th><th>attacks</th><th>acc (initial)</th><th>acc (final)</th><th>rounds</th>
                <th>round ms</th><th>train ms</th><th>digest ms</th><th>sign ms</th><th>verify ms</th><th>signature B</th>
                <th>crypto %%</th><th>overhead %%</th><th>accepted</th><th>rejected (reason)</th></tr>
                %s</table>
                <h2>Accuracy</h2><img src="accuracy.png" alt="accuracy per round">
                %s
                <h2>Cost of signing</h2><img src="overhead.png" alt="overhead"><img src="latency.png" alt="latency">
                <img src="bytes.png" alt="bytes">
                <h2>Settings</h2><table>%s</table>
                <p>Raw data: <a href="results.csv">results.csv</a>, <a href="results.json">results.json</a>.</p>
                </body></html>
                """.formatted(rows, privacy, set);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String quote(String s) {
        return s.contains(",") ? "\"" + s + "\"" : s;
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f4(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
