package io.pqfl.coordinator.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.pqfl.coordinator.Coordinator;
import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.coordinator.round.FederationStatus;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.RoundRecord;
import io.pqfl.coordinator.store.RunStore;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the dashboard shows, read from a running coordinator as one JSON document ({@code GET /api/state}): the
 * federation, the round in progress, updates accepted and rejected by reason, accuracy and loss per round, the
 * clients' last status and the ledger's tail. A document is built at most once a second however many browsers
 * ask (each build is a handful of indexed reads), and every list in it is bounded.
 */
public final class DashboardState {
    /** Rounds, clients and ledger entries a document carries at most. */
    static final int ROUNDS = 100;
    static final int CLIENTS = 50;
    static final int LEDGER_TAIL = 20;
    private static final int DETAIL_CHARS = 160;
    private static final long REFRESH_MS = 1_000;

    public record Federation(String id, String stage, long currentRound, long closedRounds, long totalRounds,
                             int connectedClients, String modelDigest, long modelRound, String coordinatorKeyId,
                             String coordinatorScheme, String transport) {
    }

    public record Round(long round, int sampled, String deadline, int acceptedSoFar, int rejectedSoFar) {
    }

    public record Updates(long accepted, long rejected, Map<String, Long> rejectedByReason) {
    }

    /** A round's outcome and the evaluation of its model ({@code evaluation}: FEDERATED, CENTRAL or CLIENT_REPORTS). */
    public record RoundRow(long round, String state, int sampled, int accepted, int rejected, String openedAt,
                           String closedAt, Double accuracy, Double loss, String evaluation) {
    }

    public record Client(String id, String lastSeen, String event, long round, String reason) {
    }

    public record Clients(int known, List<Client> recent) {
    }

    public record Entry(long seq, String kind, long round, String client, String reason, String detail, String recordedAt) {
    }

    public record Document(String generatedAt, Federation federation, Round round, Updates updates, List<RoundRow> rounds,
                           Clients clients, List<Entry> ledger) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Coordinator coordinator;
    private final ClientActivity activity;
    private final String transport;
    private final Clock clock;
    private byte[] cached;
    private long cachedAt;

    public DashboardState(Coordinator coordinator, String transport, Clock clock) {
        this.coordinator = coordinator;
        this.activity = coordinator.activity();
        this.transport = transport;
        this.clock = clock;
    }

    /** The document as JSON, rebuilt when the last one is a second old. */
    public synchronized byte[] json() throws SQLException {
        long now = clock.millis();
        if (cached == null || now - cachedAt >= REFRESH_MS || now < cachedAt) {
            try {
                cached = JSON.writeValueAsBytes(document());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write the dashboard document: " + e.getMessage(), e);
            }
            cachedAt = now;
        }
        return cached;
    }

    /** The document, built now. */
    public Document document() throws SQLException {
        FederationStatus s = coordinator.rounds().status();
        Federation federation = new Federation(s.federationId(), s.stage().name(), s.currentRound(), s.closedRounds(),
                s.totalRounds(), s.connectedClients(), s.modelDigest() == null ? null : s.modelDigest().hex(),
                s.modelRound(), coordinator.coordinatorKey().keyId().toString(), coordinator.coordinatorKey().scheme().displayName(),
                transport);
        List<ClientActivity.Status> recent = activity.recent(ClientActivity.CAPACITY);
        Round round = coordinator.runs().openRound().map(r -> current(r, recent)).orElse(null);
        return new Document(Instant.now(clock).toString(), federation, round, updates(), rounds(), clients(recent),
                ledger());
    }

    private static Round current(RoundRecord r, List<ClientActivity.Status> clients) {
        int accepted = 0;
        int rejected = 0;
        for (ClientActivity.Status c : clients) {
            if (c.round() == r.round()) {
                if (c.event().equals("accepted")) {
                    accepted++;
                } else if (c.event().equals("rejected")) {
                    rejected++;
                }
            }
        }
        return new Round(r.round(), r.sampled().size(), Instant.ofEpochMilli(r.deadlineMs()).toString(), accepted, rejected);
    }

    private Updates updates() {
        Map<String, Long> byReason = new TreeMap<>();
        long accepted = 0;
        long rejected = 0;
        for (Counter c : coordinator.metrics().registry().find("pqfl.updates").counters()) {
            long n = (long) c.count();
            if ("accepted".equals(c.getId().getTag("outcome"))) {
                accepted += n;
            } else {
                rejected += n;
                byReason.merge(String.valueOf(c.getId().getTag("reason")), n, Long::sum);
            }
        }
        return new Updates(accepted, rejected, byReason);
    }

    private List<RoundRow> rounds() throws SQLException {
        List<RunStore.RoundSummary> shown = coordinator.runs().roundSummaries(ROUNDS);
        long oldest = shown.isEmpty() ? Long.MAX_VALUE : shown.get(shown.size() - 1).round();
        Map<Long, EvaluationSummary> evaluations = new HashMap<>();
        for (RunStore.EvaluationRecord e : coordinator.runs().evaluationsFrom(oldest)) {
            EvaluationSummary summary = e.summary();
            if (summary == null || summary.empty()) {
                continue;
            }
            evaluations.merge(summary.round(), summary,
                    (a, b) -> rank(b.source()) < rank(a.source()) ? b : a);
        }
        List<RoundRow> rows = new ArrayList<>();
        for (RunStore.RoundSummary r : shown) {
            EvaluationSummary e = evaluations.get(r.round());
            rows.add(new RoundRow(r.round(), r.state().name(), r.sampled(), r.accepted(), r.rejected(), r.openedAt(),
                    r.closedAt(), e == null ? null : e.metrics().get("accuracy"),
                    e == null || Double.isNaN(e.loss()) ? null : e.loss(), e == null ? null : e.source().name()));
        }
        return rows;
    }

    /** Which evaluation of a round the dashboard shows: the clients' signed ones first, then the central one. */
    private static int rank(EvaluationSummary.Source source) {
        return switch (source) {
            case FEDERATED -> 0;
            case CENTRAL -> 1;
            case CLIENT_REPORTS -> 2;
        };
    }

    private Clients clients(List<ClientActivity.Status> all) {
        List<Client> recent = all.stream().limit(CLIENTS)
                .map(c -> new Client(c.client(), c.lastSeen().toString(), c.event(), c.round(), c.reason())).toList();
        return new Clients(all.size(), recent);
    }

    private List<Entry> ledger() throws SQLException {
        List<Entry> out = new ArrayList<>();
        for (LedgerEntry e : coordinator.ledger().tail(LEDGER_TAIL)) {
            String detail = e.detail();
            if (detail != null && detail.length() > DETAIL_CHARS) {
                detail = detail.substring(0, DETAIL_CHARS) + "…";
            }
            out.add(new Entry(e.seq(), e.kind().name(), e.round(), e.clientId(), e.reason(), detail, e.recordedAt()));
        }
        out.sort(Comparator.comparingLong(Entry::seq).reversed());
        return out;
    }
}
