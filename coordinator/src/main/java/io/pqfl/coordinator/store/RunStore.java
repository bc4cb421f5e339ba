package io.pqfl.coordinator.store;

import io.pqfl.coordinator.evaluate.EvaluationSummary;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/** Runs and rounds. Round transitions that publish a model are one transaction with their ledger entry. */
public final class RunStore {
    private final Database db;
    private final Ledger ledger;
    private final Clock clock;

    public RunStore(Database db, Ledger ledger, Clock clock) {
        this.db = Objects.requireNonNull(db, "db");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public record RunRecord(String federationId, String coordinatorKeyId, byte[] coordinatorPublicKey, long totalRounds,
                            String config) {
    }

    public Optional<RunRecord> run() throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("SELECT * FROM runs");
                 ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new RunRecord(rs.getString("federation_id"), rs.getString("coordinator_key_id"),
                        rs.getBytes("coordinator_public_key"), rs.getLong("total_rounds"), rs.getString("config")));
            }
        }
    }

    /**
     * Records a new run and publishes its initial model in one transaction: {@code initialModel} signs the
     * model over the (empty) ledger head and writes its checkpoint before anything is committed, so a
     * crash leaves either no run or a run whose first ledger entry is its signed initial model.
     */
    public SignedModel createRun(String federationId, VerifyingKey coordinatorKey, long totalRounds, String config,
                                 Ledger.Publication initialModel) throws SQLException, IOException {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO runs (federation_id, created_at, "
                    + "coordinator_key_id, coordinator_public_key, total_rounds, config) VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, federationId);
                ps.setString(2, clock.instant().toString());
                ps.setString(3, coordinatorKey.keyId().hex());
                ps.setBytes(4, coordinatorKey.encoded());
                ps.setLong(5, totalRounds);
                ps.setString(6, config);
                ps.executeUpdate();
            }
            ledger.rememberKey(coordinatorKey);
            SignedModel signed = ledger.insertPublished(c, initialModel);
            return signed;
        });
    }

    public void openRound(RoundRecord r) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("INSERT INTO rounds (round, nonce, state, sampled, "
                    + "base_model_digest, deadline_ms, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setLong(1, r.round());
                ps.setBytes(2, r.nonce().bytes());
                ps.setString(3, RoundRecord.State.OPEN.name());
                ps.setString(4, r.sampled().stream().map(ClientId::value).collect(Collectors.joining(",")));
                ps.setBytes(5, r.baseModelDigest().bytes());
                ps.setLong(6, r.deadlineMs());
                ps.setString(7, clock.instant().toString());
                ps.executeUpdate();
            }
        }
    }

    /**
     * Completes a round by publishing its model, in one transaction under the database lock: reads the ledger
     * head, lets {@code model} sign the model over that head and write its checkpoint, appends the
     * {@code MODEL_PUBLISHED} entry and marks the round completed. No other ledger entry (a rejection, an
     * enrollment, from another thread) can come between the head the model signs and its own entry; the
     * checkpoint file exists before the round is recorded as completed.
     */
    public SignedModel completeRound(long round, int accepted, int rejected, Ledger.Publication model)
            throws SQLException, IOException {
        return completeRound(round, accepted, rejected, List.of(), model);
    }

    /**
     * As {@link #completeRound(long, int, int, Ledger.Publication)}, with {@code before} (a round's
     * {@code PRIVACY_SPENT}) appended in the same transaction right before the model's entry, so that the model's
     * signature covers them through the ledger head.
     */
    public SignedModel completeRound(long round, int accepted, int rejected, List<Ledger.Draft> before,
                                     Ledger.Publication model) throws SQLException, IOException {
        return db.inTransaction(c -> {
            for (Ledger.Draft d : before) {
                ledger.insert(c, d);
            }
            SignedModel signed = ledger.insertPublished(c, model);
            markClosed(c, round, RoundRecord.State.COMPLETED, signed.statement().modelDigest(), accepted, rejected);
            return signed;
        });
    }

    /** Closes a round and appends its ledger entry in one transaction (a skipped round: no model is published). */
    public LedgerEntry closeRound(long round, RoundRecord.State state, PayloadDigest modelDigest, int accepted,
                                  int rejected, Ledger.Draft entry) throws SQLException {
        return closeRound(round, state, modelDigest, accepted, rejected, List.of(), entry);
    }

    /** As {@link #closeRound(long, RoundRecord.State, PayloadDigest, int, int, Ledger.Draft)}, {@code before} first. */
    public LedgerEntry closeRound(long round, RoundRecord.State state, PayloadDigest modelDigest, int accepted,
                                  int rejected, List<Ledger.Draft> before, Ledger.Draft entry) throws SQLException {
        return db.inTransaction(c -> {
            for (Ledger.Draft d : before) {
                ledger.insert(c, d);
            }
            LedgerEntry stored = ledger.insert(c, entry);
            markClosed(c, round, state, modelDigest, accepted, rejected);
            return stored;
        });
    }

    private void markClosed(Connection c, long round, RoundRecord.State state, PayloadDigest modelDigest, int accepted,
                            int rejected) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE rounds SET state = ?, closed_at = ?, model_digest = ?, "
                + "accepted = ?, rejected = ? WHERE round = ? AND state = ?")) {
            ps.setString(1, state.name());
            ps.setString(2, clock.instant().toString());
            ps.setBytes(3, modelDigest == null ? null : modelDigest.bytes());
            ps.setInt(4, accepted);
            ps.setInt(5, rejected);
            ps.setLong(6, round);
            ps.setString(7, RoundRecord.State.OPEN.name());
            if (ps.executeUpdate() != 1) {
                throw new SQLException("round " + round + " is not open");
            }
        }
    }

    // ------------------------------------------------------------------ evaluations

    /** Records that the evaluation of {@code round}'s model opened (state OPEN) with its nonce and evaluators. */
    public void openEvaluation(long round, RoundNonce nonce, List<ClientId> sampled) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("INSERT INTO evaluations (round, source, state, "
                    + "nonce, sampled, opened_at) VALUES (?, ?, 'OPEN', ?, ?, ?)")) {
                ps.setLong(1, round);
                ps.setString(2, EvaluationSummary.Source.FEDERATED.name());
                ps.setBytes(3, nonce.bytes());
                ps.setString(4, sampled.stream().map(ClientId::value).collect(Collectors.joining(",")));
                ps.setString(5, clock.instant().toString());
                ps.executeUpdate();
            }
        }
    }

    /**
     * Records an aggregate: closes the federated evaluation's OPEN row, or adds the row of a central evaluation or of a
     * round's reported metrics; with {@code entry} (when not null) appended to the ledger in the same transaction.
     */
    public void recordEvaluation(EvaluationSummary s, Ledger.Draft entry) throws SQLException {
        db.inTransaction(c -> {
            if (entry != null) {
                ledger.insert(c, entry);
            }
            String now = clock.instant().toString();
            int updated;
            try (PreparedStatement ps = c.prepareStatement("UPDATE evaluations SET state = 'CLOSED', closed_at = ?, "
                    + "clients = ?, examples = ?, loss = ?, metrics = ? WHERE round = ? AND source = ? AND state = 'OPEN'")) {
                ps.setString(1, now);
                ps.setInt(2, s.clients());
                ps.setLong(3, s.examples());
                setLoss(ps, 4, s);
                ps.setString(5, metricsText(s.metrics()));
                ps.setLong(6, s.round());
                ps.setString(7, s.source().name());
                updated = ps.executeUpdate();
            }
            if (updated == 0) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO evaluations (round, source, state, opened_at, "
                        + "closed_at, clients, examples, loss, metrics) VALUES (?, ?, 'CLOSED', ?, ?, ?, ?, ?, ?)")) {
                    ps.setLong(1, s.round());
                    ps.setString(2, s.source().name());
                    ps.setString(3, now);
                    ps.setString(4, now);
                    ps.setInt(5, s.clients());
                    ps.setLong(6, s.examples());
                    setLoss(ps, 7, s);
                    ps.setString(8, metricsText(s.metrics()));
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    /**
     * Marks evaluations left OPEN by a stopped coordinator ABANDONED: an evaluation is not resumed after a restart
     * (its accepted entries stay in the ledger, with no EVALUATION_CLOSED after them). Returns how many.
     */
    public int abandonOpenEvaluations() throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "UPDATE evaluations SET state = 'ABANDONED', closed_at = ? WHERE state = 'OPEN'")) {
                ps.setString(1, clock.instant().toString());
                return ps.executeUpdate();
            }
        }
    }

    /** A stored evaluation row. */
    public record EvaluationRecord(String state, EvaluationSummary summary) {
    }

    /** Every evaluation row, by round and source. */
    public List<EvaluationRecord> evaluations() throws SQLException {
        return evaluationsFrom(0);
    }

    /** The evaluation rows of rounds {@code >= firstRound}, by round and source (an indexed range of the key). */
    public List<EvaluationRecord> evaluationsFrom(long firstRound) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "SELECT * FROM evaluations WHERE round >= ? ORDER BY round, source")) {
                ps.setLong(1, firstRound);
                try (ResultSet rs = ps.executeQuery()) {
                    List<EvaluationRecord> out = new java.util.ArrayList<>();
                    while (rs.next()) {
                        double loss = rs.getDouble("loss");
                        if (rs.wasNull()) {
                            loss = Double.NaN;
                        }
                        out.add(new EvaluationRecord(rs.getString("state"), new EvaluationSummary(rs.getLong("round"),
                                EvaluationSummary.Source.valueOf(rs.getString("source")), rs.getInt("clients"),
                                rs.getLong("examples"), loss, parseMetrics(rs.getString("metrics")))));
                    }
                    return out;
                }
            }
        }
    }

    private static void setLoss(PreparedStatement ps, int i, EvaluationSummary s) throws SQLException {
        if (s.empty()) {
            ps.setNull(i, java.sql.Types.DOUBLE);
        } else {
            ps.setDouble(i, s.loss());
        }
    }

    /** {@code name=value} pairs, comma-separated, sorted (names are [a-z0-9_.], so the text is unambiguous). */
    private static String metricsText(java.util.Map<String, Double> metrics) {
        return new java.util.TreeMap<>(metrics).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }

    private static java.util.Map<String, Double> parseMetrics(String text) {
        java.util.Map<String, Double> out = new java.util.TreeMap<>();
        if (text != null && !text.isEmpty()) {
            for (String pair : text.split(",")) {
                int eq = pair.indexOf('=');
                out.put(pair.substring(0, eq), Double.parseDouble(pair.substring(eq + 1)));
            }
        }
        return out;
    }

    public Optional<RoundRecord> openRound() throws SQLException {
        return rounds("SELECT * FROM rounds WHERE state = 'OPEN' ORDER BY round DESC").stream().findFirst();
    }

    /** The highest round number that was closed (completed or skipped), 0 if none. */
    public long lastClosedRound() throws SQLException {
        return rounds("SELECT * FROM rounds WHERE state <> 'OPEN' ORDER BY round DESC").stream()
                .mapToLong(RoundRecord::round).findFirst().orElse(0);
    }

    /** A round's outcome as the dashboard shows it; {@code closedAt} null while it is open. */
    public record RoundSummary(long round, RoundRecord.State state, int sampled, int accepted, int rejected,
                               String openedAt, String closedAt) {
    }

    /** The newest {@code n} rounds, newest first. */
    public List<RoundSummary> roundSummaries(int n) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("SELECT round, state, sampled, accepted, rejected, "
                    + "opened_at, closed_at FROM rounds ORDER BY round DESC LIMIT ?")) {
                ps.setInt(1, n);
                try (ResultSet rs = ps.executeQuery()) {
                    List<RoundSummary> out = new java.util.ArrayList<>();
                    while (rs.next()) {
                        String sampled = rs.getString("sampled");
                        out.add(new RoundSummary(rs.getLong("round"), RoundRecord.State.valueOf(rs.getString("state")),
                                sampled.isEmpty() ? 0 : sampled.split(",").length, rs.getInt("accepted"),
                                rs.getInt("rejected"), rs.getString("opened_at"), rs.getString("closed_at")));
                    }
                    return out;
                }
            }
        }
    }

    public List<RoundRecord> rounds() throws SQLException {
        return rounds("SELECT * FROM rounds ORDER BY round");
    }

    private List<RoundRecord> rounds(String sql) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                List<RoundRecord> out = new java.util.ArrayList<>();
                while (rs.next()) {
                    String sampled = rs.getString("sampled");
                    byte[] model = rs.getBytes("model_digest");
                    out.add(new RoundRecord(rs.getLong("round"), RoundNonce.of(rs.getBytes("nonce")),
                            RoundRecord.State.valueOf(rs.getString("state")),
                            sampled.isEmpty() ? List.of() : Arrays.stream(sampled.split(",")).map(ClientId::new).toList(),
                            PayloadDigest.ofBytes(rs.getBytes("base_model_digest")), rs.getLong("deadline_ms"),
                            model == null ? null : PayloadDigest.ofBytes(model)));
                }
                return out;
            }
        }
    }
}
