package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/grafana/pqfl-coordinator.json queries series the coordinator really exports: every metric and label its
 * PromQL names is in the {@code /metrics} text of a coordinator that ran a round (an update accepted, one
 * rejected), published evaluations and saw a TLS connection. A renamed metric breaks this test, not the dashboard.
 */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("..", "docs", "grafana", "pqfl-coordinator.json");
    private static final Pattern METRIC = Pattern.compile("\\b((?:pqfl|jvm)_[a-z0-9_]+)(\\{[^}]*})?");
    private static final Pattern LABEL = Pattern.compile("([a-z_]+)\\s*(?:=~|=|!=)");
    private static final Pattern BY = Pattern.compile("by \\(([a-z_, ]+)\\)");

    @TempDir
    Path dir;

    @Test
    void everyQueriedMetricAndLabelIsExported() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> exprs = new ArrayList<>();
        dashboard.get("panels").forEach(p -> p.get("targets").forEach(t -> exprs.add(t.get("expr").asText())));
        assertThat(exprs).hasSizeGreaterThan(10);

        String scrape;
        try (TestFederation fed = TestFederation.start(dir, 2, b -> { })) {
            List<TestClient> clients = fed.hello("c1", "c2");
            TestClient c1 = clients.get(0);
            TestClient c2 = clients.get(1);
            TestClient.ReceivedTask t1 = c1.task(10_000);
            TestClient.ReceivedTask t2 = c2.task(10_000);
            assertThatThrownBy(() -> c1.send(c1.tampered(t1, tiny(1), 10))).isInstanceOf(StatusRuntimeException.class);
            c1.submit(t1, tiny(1), 10);
            c2.submit(t2, tiny(3), 10);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            // What a run with evaluations and TLS adds (their own tests cover how they are produced).
            for (EvaluationSummary.Source source : EvaluationSummary.Source.values()) {
                fed.metrics.evaluation(new EvaluationSummary(1, source, 2, 20, 0.5, Map.of("accuracy", 0.8)));
            }
            fed.metrics.tlsHandshake("X25519MLKEM768");
            scrape = fed.metrics.scrape();
        }
        List<String> series = scrape.lines().filter(l -> !l.startsWith("#")).toList();
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                String name = m.group(1);
                List<String> lines = series.stream().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " ")).toList();
                assertThat(lines).as("series %s (in %s)", name, expr).isNotEmpty();
                List<String> labels = new ArrayList<>();
                if (m.group(2) != null) {
                    Matcher l = LABEL.matcher(m.group(2));
                    while (l.find()) {
                        labels.add(l.group(1));
                    }
                }
                Matcher by = BY.matcher(expr);
                while (by.find()) {
                    for (String label : by.group(1).split(",")) {
                        labels.add(label.trim());
                    }
                }
                for (String label : labels) {
                    assertThat(lines).as("label %s of %s (in %s)", label, name, expr)
                            .anySatisfy(line -> assertThat(line).contains(label + "=\""));
                }
            }
        }
    }
}
