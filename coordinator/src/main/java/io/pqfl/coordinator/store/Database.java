package io.pqfl.coordinator.store;

import io.pqfl.crypto.OwnerOnly;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;

/**
 * The coordinator's database: an embedded SQLite file by default, PostgreSQL when the operator gives a
 * {@code jdbc:postgresql:} URL. One connection, used under this object's lock: the coordinator's writes
 * are a few per update, far below what one connection carries.
 */
public final class Database implements AutoCloseable {
    enum Dialect { SQLITE, POSTGRESQL }

    private final Connection connection;
    private final Dialect dialect;
    private final String url;

    private Database(String url, Connection connection, Dialect dialect) {
        this.url = url;
        this.connection = connection;
        this.dialect = dialect;
    }

    public static Database open(String jdbcUrl) throws SQLException {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        Dialect dialect;
        if (jdbcUrl.startsWith("jdbc:sqlite:")) {
            dialect = Dialect.SQLITE;
        } else if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            dialect = Dialect.POSTGRESQL;
        } else {
            throw new SQLException("unsupported database URL '" + jdbcUrl + "': use jdbc:sqlite:FILE or jdbc:postgresql://...");
        }
        if (dialect == Dialect.SQLITE) {
            String file = jdbcUrl.substring("jdbc:sqlite:".length());
            int query = file.indexOf('?');
            file = query >= 0 ? file.substring(0, query) : file;
            if (!file.isEmpty() && !file.startsWith(":memory:") && !file.startsWith("file:")) {
                try {
                    OwnerOnly.touch(Path.of(file)); // SQLite gives its -wal and -shm files the database file's mode
                } catch (IOException e) {
                    throw new SQLException("cannot create the database file " + file + ": " + e.getMessage(), e);
                }
            }
        }
        Connection c = DriverManager.getConnection(jdbcUrl);
        Database db = new Database(jdbcUrl, c, dialect);
        if (dialect == Dialect.SQLITE) {
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA foreign_keys=ON");
            }
        }
        db.createSchema();
        return db;
    }

    private void createSchema() throws SQLException {
        String blob = dialect == Dialect.SQLITE ? "BLOB" : "BYTEA";
        String[] ddl = {
            "CREATE TABLE IF NOT EXISTS runs (federation_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                + "coordinator_key_id TEXT NOT NULL, coordinator_public_key " + blob + " NOT NULL, "
                + "total_rounds BIGINT NOT NULL, config TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS rounds (round BIGINT PRIMARY KEY, nonce " + blob + " NOT NULL, "
                + "state TEXT NOT NULL, sampled TEXT NOT NULL, base_model_digest " + blob + " NOT NULL, "
                + "deadline_ms BIGINT NOT NULL, opened_at TEXT NOT NULL, closed_at TEXT, model_digest " + blob + ", "
                + "accepted INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE IF NOT EXISTS public_keys (key_id TEXT PRIMARY KEY, scheme TEXT NOT NULL, "
                + "encoded " + blob + " NOT NULL)",
            "CREATE TABLE IF NOT EXISTS ledger (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, round BIGINT NOT NULL, "
                + "client_id TEXT, key_id TEXT, scheme TEXT, statement " + blob + ", signature " + blob + ", "
                + "payload_digest " + blob + ", reason TEXT, detail TEXT, recorded_at TEXT NOT NULL, "
                + "prev_hash " + blob + " NOT NULL, entry_hash " + blob + " NOT NULL)",
            // Aggregated evaluations of rounds' models (federated, central) and the clients' reported training metrics.
            "CREATE TABLE IF NOT EXISTS evaluations (round BIGINT NOT NULL, source TEXT NOT NULL, state TEXT NOT NULL, "
                + "nonce " + blob + ", sampled TEXT, opened_at TEXT NOT NULL, closed_at TEXT, clients INTEGER NOT NULL DEFAULT 0, "
                + "examples BIGINT NOT NULL DEFAULT 0, loss DOUBLE PRECISION, metrics TEXT, PRIMARY KEY (round, source))",
            "CREATE TABLE IF NOT EXISTS enrollment_tokens (token_hash " + blob + " PRIMARY KEY, client_id TEXT NOT NULL, "
                + "created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT, used_key_id TEXT, signature " + blob + ")",
        };
        try (Statement s = connection.createStatement()) {
            for (String sql : ddl) {
                s.execute(sql);
            }
            // A client's accepted update of a round, found without a scan of its other entries (an upload retried
            // after its answer was lost; docs/PROTOCOL.md, "Retries").
            s.execute("CREATE INDEX IF NOT EXISTS ledger_round_client_kind ON ledger (round, client_id, kind)");
            if (dialect == Dialect.SQLITE) {
                // The ledger is append-only: the database itself refuses changes to written entries.
                s.execute("CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger "
                        + "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END");
                s.execute("CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger "
                        + "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END");
            }
        }
    }

    /** The connection; callers synchronise on this {@code Database}. */
    Connection connection() {
        return connection;
    }

    /** Work done inside one transaction; {@code E}: what else it may throw (a checkpoint file's IOException). */
    @FunctionalInterface
    interface Work<T, E extends Exception> {
        T run(Connection c) throws SQLException, E;
    }

    /** Runs {@code work} in one transaction under this database's lock: committed if it returns, rolled back if it throws. */
    <T, E extends Exception> T inTransaction(Work<T, E> work) throws SQLException, E {
        synchronized (this) {
            boolean auto = connection.getAutoCommit();
            try {
                connection.setAutoCommit(false);
                T out = work.run(connection);
                connection.commit();
                return out;
            } catch (Exception e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(auto);
            }
        }
    }

    public String url() {
        return url;
    }

    @Override
    public synchronized void close() throws SQLException {
        connection.close();
    }
}
