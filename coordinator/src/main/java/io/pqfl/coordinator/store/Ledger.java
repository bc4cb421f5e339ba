package io.pqfl.coordinator.store;

import io.pqfl.crypto.PayloadHasher;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletableFuture;
import java.util.Optional;

/**
 * The append-only, hash-chained audit ledger: every accepted and rejected update and every published
 * model, with the statement and signature bytes. {@code entry_hash = SHA-512(prev_hash || encoding of the
 * entry's fields)}; the first entry's {@code prev_hash} is 64 zero bytes. Changing, removing or reordering
 * any entry breaks the chain, which {@link LedgerVerifier} detects offline.
 *
 * <p>Security: the chain alone only shows that the rows are consistent with each other; whoever can write
 * the database can also recompute every hash. What fixes history is the coordinator's signature: each
 * {@code MODEL_PUBLISHED} entry holds a model statement that binds the ledger head it follows (its
 * {@code prev_hash}), and this class refuses to append one that binds any other head. A model is therefore
 * signed under the database lock ({@link #insertPublished}), so no other entry can slip in between.
 */
public final class Ledger {
    public static final int HASH_BYTES = 64;

    private final Database db;
    private final Clock clock;

    public Ledger(Database db, Clock clock) {
        this.db = Objects.requireNonNull(db, "db");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Fields of a new entry; sequence number, time and hashes are filled in by {@link #append}. */
    public record Draft(LedgerEntry.Kind kind, long round, String clientId, String keyId, String scheme, byte[] statement,
                        byte[] signature, byte[] payloadDigest, String reason, String detail) {
        /** The {@code MODEL_PUBLISHED} entry of a signed model. */
        public static Draft published(SignedModel m) {
            ModelStatement s = m.statement();
            return new Draft(LedgerEntry.Kind.MODEL_PUBLISHED, s.modelRound(), null, s.coordinatorKeyId().hex(),
                    s.scheme().displayName(), s.encode(), m.signature().bytes(), s.modelDigest().bytes(), null,
                    s.receipt().size() + " updates aggregated");
        }

        /** The {@code PRIVACY_SPENT} entry of a round's central differential privacy. */
        public static Draft privacySpent(io.pqfl.coordinator.privacy.PrivacySpent spent) {
            return new Draft(LedgerEntry.Kind.PRIVACY_SPENT, spent.round(), null, null, null, null, null, null,
                    PRIVACY_REASON, spent.describe());
        }
    }

    /** The reason of every {@code PRIVACY_SPENT} entry. */
    public static final String PRIVACY_REASON = "CENTRAL_DP";

    /**
     * Signs a model over the ledger head it is given and writes the model's checkpoint file. It runs under
     * the database lock, inside the transaction that then appends the model's {@code MODEL_PUBLISHED} entry
     * right after that head; if it throws, nothing is appended.
     */
    @FunctionalInterface
    public interface Publication {
        SignedModel publish(LedgerHead head) throws IOException;
    }

    /** The newest entry's sequence number and hash (0 and 64 zero bytes while the ledger is empty). */
    private record Tip(long seq, byte[] hash) {
    }

    /** A draft waiting to be appended, and where its caller waits for the entry (or the failure). */
    private record Pending(Draft draft, VerifyingKey key, CompletableFuture<LedgerEntry> entry) {
    }

    private final Object queue = new Object();
    private List<Pending> pending = new ArrayList<>();

    /**
     * Appends an entry and returns it as stored (durably: committed). Concurrent appends share a commit (group
     * commit): whoever holds the database lock next writes every draft queued meanwhile in one transaction, so
     * thousands of clients saying Hello at once pay one fsync per batch, not one each. If the batch fails, each
     * of its drafts is tried alone, so one bad draft fails only its own caller.
     */
    public LedgerEntry append(Draft d) throws SQLException {
        return append(d, null);
    }

    /**
     * Appends an entry as {@link #append(Draft)} does, recording {@code key} (if not null and not yet known) in the
     * same transaction: the entry's key is there for offline verification, at the cost of no extra commit.
     */
    public LedgerEntry append(Draft d, VerifyingKey key) throws SQLException {
        Pending mine = new Pending(Objects.requireNonNull(d, "draft"), key, new CompletableFuture<>());
        synchronized (queue) {
            pending.add(mine);
        }
        synchronized (db) {
            if (!mine.entry().isDone()) {
                List<Pending> batch;
                synchronized (queue) {
                    batch = pending;
                    pending = new ArrayList<>();
                }
                commit(batch);
            }
        }
        try {
            return mine.entry().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** Under the database lock: the batch in one transaction, or, if that fails, each draft in its own. */
    private void commit(List<Pending> batch) {
        if (batch.size() > 1) {
            try {
                List<LedgerEntry> entries = db.inTransaction(c -> {
                    List<LedgerEntry> out = new ArrayList<>(batch.size());
                    for (Pending p : batch) {
                        out.add(insertWithKey(c, p));
                    }
                    return out;
                });
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).entry().complete(entries.get(i));
                }
                return;
            } catch (SQLException | RuntimeException e) {
                // fall through: one at a time, so the failure lands on the draft that caused it
            }
        }
        for (Pending p : batch) {
            try {
                p.entry().complete(db.inTransaction(c -> insertWithKey(c, p)));
            } catch (SQLException | RuntimeException e) {
                p.entry().completeExceptionally(e);
            }
        }
    }

    private LedgerEntry insertWithKey(Connection c, Pending p) throws SQLException {
        if (p.key() != null) {
            insertKey(c, p.key());
        }
        return insert(c, p.draft());
    }


    /**
     * Signs a model adopted from an aggregator's parent over the current head and appends its {@code MODEL_ADOPTED}
     * entry right after that head, in one transaction under the database lock (as {@link #insertPublished} does for
     * a published model, without a checkpoint: the adopted model is the parent's, which keeps it).
     */
    public SignedModel appendAdopted(Publication publication) throws SQLException, IOException {
        return db.inTransaction(c -> {
            Tip tip = tip(c);
            SignedModel signed = publication.publish(LedgerHead.of(tip.hash()));
            ModelStatement s = signed.statement();
            insert(c, tip, new Draft(LedgerEntry.Kind.MODEL_ADOPTED, s.modelRound(), null, s.coordinatorKeyId().hex(),
                    s.scheme().displayName(), s.encode(), signed.signature().bytes(), s.modelDigest().bytes(), null,
                    "the parent's model, the base of round " + (s.modelRound() + 1)));
            return signed;
        });
    }

    /** The current head: the newest entry's hash, {@link LedgerHead#EMPTY} while the ledger is empty. */
    public LedgerHead head() throws SQLException {
        synchronized (db) {
            return LedgerHead.of(tip(db.connection()).hash());
        }
    }

    /**
     * Inside a transaction the caller holds (the caller synchronises on the database): reads the head, lets
     * {@code publication} sign the model over it and write its checkpoint, then appends the model's entry.
     */
    SignedModel insertPublished(Connection c, Publication publication) throws SQLException, IOException {
        Tip tip = tip(c);
        SignedModel signed = publication.publish(LedgerHead.of(tip.hash()));
        insert(c, tip, Draft.published(signed));
        return signed;
    }

    /** Inside a transaction the caller holds (the caller synchronises on the database). */
    LedgerEntry insert(Connection c, Draft d) throws SQLException {
        return insert(c, tip(c), d);
    }

    private static Tip tip(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? new Tip(rs.getLong(1), rs.getBytes(2)) : new Tip(0, new byte[HASH_BYTES]);
        }
    }

    private LedgerEntry insert(Connection c, Tip tip, Draft d) throws SQLException {
        long seq = tip.seq() + 1;
        byte[] prev = tip.hash();
        if (d.kind() == LedgerEntry.Kind.MODEL_PUBLISHED
                && !ModelStatement.decode(d.statement()).ledgerHead().matches(prev)) {
            // A model entry whose statement binds another head would make the ledger unverifiable; it is a bug
            // in the caller (a model signed outside the database lock), never something to store.
            throw new IllegalStateException("the model statement of round " + d.round()
                    + " does not bind the current ledger head; sign it under the database lock (Ledger.Publication)");
        }
        String at = clock.instant().toString();
        LedgerEntry unhashed = new LedgerEntry(seq, d.kind(), d.round(), d.clientId(), d.keyId(), d.scheme(),
                d.statement(), d.signature(), d.payloadDigest(), d.reason(), d.detail(), at, prev, null);
        byte[] hash = hash(unhashed);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO ledger (seq, kind, round, client_id, key_id, scheme, "
                + "statement, signature, payload_digest, reason, detail, recorded_at, prev_hash, entry_hash) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setLong(1, seq);
            ps.setString(2, d.kind().name());
            ps.setLong(3, d.round());
            ps.setString(4, d.clientId());
            ps.setString(5, d.keyId());
            ps.setString(6, d.scheme());
            ps.setBytes(7, d.statement());
            ps.setBytes(8, d.signature());
            ps.setBytes(9, d.payloadDigest());
            ps.setString(10, d.reason());
            ps.setString(11, d.detail());
            ps.setString(12, at);
            ps.setBytes(13, prev);
            ps.setBytes(14, hash);
            ps.executeUpdate();
        }
        return new LedgerEntry(seq, d.kind(), d.round(), d.clientId(), d.keyId(), d.scheme(), d.statement(),
                d.signature(), d.payloadDigest(), d.reason(), d.detail(), at, prev, hash);
    }

    /** Records a public key so that the ledger can be verified offline. Idempotent. */
    public void rememberKey(VerifyingKey key) throws SQLException {
        synchronized (db) {
            insertKey(db.connection(), key);
        }
    }

    private static void insertKey(Connection c, VerifyingKey key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO public_keys (key_id, scheme, encoded) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING")) {
            ps.setString(1, key.keyId().hex());
            ps.setString(2, key.scheme().displayName());
            ps.setBytes(3, key.encoded());
            ps.executeUpdate();
        }
    }

    public Optional<byte[]> publicKey(String keyId) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("SELECT encoded FROM public_keys WHERE key_id = ?")) {
                ps.setString(1, keyId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
                }
            }
        }
    }

    public List<LedgerEntry> entries() throws SQLException {
        return query("SELECT * FROM ledger ORDER BY seq");
    }

    /** The newest {@code n} entries, newest first (the dashboard's tail; one indexed read). */
    public List<LedgerEntry> tail(int n) throws SQLException {
        if (n < 0) {
            throw new IllegalArgumentException("n must not be negative");
        }
        return query("SELECT * FROM ledger ORDER BY seq DESC LIMIT " + n);
    }

    public List<LedgerEntry> entriesOfRound(long round) throws SQLException {
        return query("SELECT * FROM ledger WHERE round = ? ORDER BY seq", round);
    }

    /** The entries of one kind, in order. */
    public List<LedgerEntry> entriesOfKind(LedgerEntry.Kind kind) throws SQLException {
        return query("SELECT * FROM ledger WHERE kind = ? ORDER BY seq", kind.name());
    }

    /**
     * The update accepted from {@code clientId} for {@code round}, if there is one (one indexed read): what a client
     * that retries an upload whose answer it never received is told it already delivered.
     */
    public Optional<LedgerEntry> acceptedUpdate(long round, String clientId) throws SQLException {
        return query("SELECT * FROM ledger WHERE round = ? AND client_id = ? AND kind = ? ORDER BY seq LIMIT 1", round,
                clientId, LedgerEntry.Kind.UPDATE_ACCEPTED.name()).stream().findFirst();
    }

    private List<LedgerEntry> query(String sql, Object... parameters) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(sql)) {
                for (int i = 0; i < parameters.length; i++) {
                    if (parameters[i] instanceof String text) {
                        ps.setString(i + 1, text);
                    } else {
                        ps.setLong(i + 1, (long) parameters[i]);
                    }
                }
                List<LedgerEntry> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new LedgerEntry(rs.getLong("seq"), LedgerEntry.Kind.valueOf(rs.getString("kind")),
                                rs.getLong("round"), rs.getString("client_id"), rs.getString("key_id"),
                                rs.getString("scheme"), rs.getBytes("statement"), rs.getBytes("signature"),
                                rs.getBytes("payload_digest"), rs.getString("reason"), rs.getString("detail"),
                                rs.getString("recorded_at"), rs.getBytes("prev_hash"), rs.getBytes("entry_hash")));
                    }
                }
                return out;
            }
        }
    }

    /** The entry's hash over its fields and the previous hash (docs/COORDINATOR.md, "Ledger"). */
    static byte[] hash(LedgerEntry e) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buf)) {
            str(out, "pqfl.ledger-entry");
            out.writeShort(1);
            out.writeLong(e.seq());
            str(out, e.kind().name());
            out.writeLong(e.round());
            str(out, e.clientId());
            str(out, e.keyId());
            str(out, e.scheme());
            bytes(out, e.statement());
            bytes(out, e.signature());
            bytes(out, e.payloadDigest());
            str(out, e.reason());
            str(out, e.detail());
            str(out, e.recordedAt());
            bytes(out, e.prevHash());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return new PayloadHasher().update(buf.toByteArray()).finish().bytes();
    }

    static boolean sameHash(byte[] a, byte[] b) {
        return a != null && b != null && MessageDigest.isEqual(a, b);
    }

    // A null field is encoded as length 0xFFFFFFFF so that null and empty differ.
    private static void str(DataOutputStream out, String s) throws IOException {
        bytes(out, s == null ? null : s.getBytes(StandardCharsets.UTF_8));
    }

    private static void bytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(b.length);
        out.write(b);
    }
}
