package io.pqfl.coordinator.store;

import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What an attacker who can write the coordinator's SQLite file can do with plain JDBC: drop the append-only
 * triggers, and renumber and re-chain the ledger with the ledger's own hash function (so the chain alone
 * looks intact), optionally re-signing every model statement with a key of their own.
 */
public final class LedgerForgery {
    private LedgerForgery() {
    }

    /** Re-signs a model statement as the attacker would, over the ledger head its entry now follows. */
    @FunctionalInterface
    public interface Resigner {
        SignedModel resign(ModelStatement original, LedgerHead head);
    }

    public static void dropAppendOnlyTriggers(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("DROP TRIGGER ledger_no_update");
            s.execute("DROP TRIGGER ledger_no_delete");
        }
    }

    /** Deletes every rejection and re-chains the rest; with a resigner, re-signs every model statement too. */
    public static void deleteRejections(Connection c, Resigner resigner) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM ledger WHERE kind = 'UPDATE_REJECTED'");
            s.executeUpdate("UPDATE rounds SET rejected = 0");
        }
        rechain(c, resigner);
    }

    /** Renumbers the entries 1..n and recomputes every {@code prev_hash} and {@code entry_hash}. */
    public static void rechain(Connection c) throws SQLException {
        rechain(c, null);
    }

    /**
     * Like {@link #rechain(Connection)}; with {@code resigner}, each {@code MODEL_PUBLISHED} entry's statement,
     * signature, key id and scheme are replaced by the resigner's before the entry is hashed.
     */
    public static void rechain(Connection c, Resigner resigner) throws SQLException {
        List<LedgerEntry> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM ledger ORDER BY seq"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new LedgerEntry(rs.getLong("seq"), LedgerEntry.Kind.valueOf(rs.getString("kind")),
                        rs.getLong("round"), rs.getString("client_id"), rs.getString("key_id"), rs.getString("scheme"),
                        rs.getBytes("statement"), rs.getBytes("signature"), rs.getBytes("payload_digest"),
                        rs.getString("reason"), rs.getString("detail"), rs.getString("recorded_at"),
                        rs.getBytes("prev_hash"), rs.getBytes("entry_hash")));
            }
        }
        byte[] prev = new byte[Ledger.HASH_BYTES];
        long seq = 1;
        // Ascending order: each entry's new number is at most its old one, so the target number is free.
        for (LedgerEntry e : rows) {
            String keyId = e.keyId();
            String scheme = e.scheme();
            byte[] statement = e.statement();
            byte[] signature = e.signature();
            if (resigner != null && e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED) {
                SignedModel forged = resigner.resign(ModelStatement.decode(statement), LedgerHead.of(prev));
                keyId = forged.statement().coordinatorKeyId().hex();
                scheme = forged.statement().scheme().displayName();
                statement = forged.statement().encode();
                signature = forged.signature().bytes();
            }
            LedgerEntry moved = new LedgerEntry(seq, e.kind(), e.round(), e.clientId(), keyId, scheme, statement, signature,
                    e.payloadDigest(), e.reason(), e.detail(), e.recordedAt(), prev, null);
            byte[] hash = Ledger.hash(moved);
            try (PreparedStatement ps = c.prepareStatement("UPDATE ledger SET seq = ?, key_id = ?, scheme = ?, "
                    + "statement = ?, signature = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?")) {
                ps.setLong(1, seq);
                ps.setString(2, keyId);
                ps.setString(3, scheme);
                ps.setBytes(4, statement);
                ps.setBytes(5, signature);
                ps.setBytes(6, prev);
                ps.setBytes(7, hash);
                ps.setLong(8, e.seq());
                ps.executeUpdate();
            }
            prev = hash;
            seq++;
        }
    }
}
