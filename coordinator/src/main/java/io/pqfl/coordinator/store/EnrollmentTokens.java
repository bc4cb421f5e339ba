package io.pqfl.coordinator.store;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.util.Objects;

/**
 * One-time enrollment tokens, kept in the coordinator's database as SHA-512 digests (a copy of the database
 * does not reveal usable tokens). A token is bound to one client id, expires, and is consumed by one
 * conditional update, so two coordinators sharing a PostgreSQL database cannot both accept it.
 *
 * <p>Each token record is signed with the coordinator's key when it is created (over the client id, the
 * token's digest and its expiry), and a record whose signature does not verify is not a token: someone who
 * can write the database but does not hold the coordinator's key cannot mint tokens and enroll clients.
 */
public final class EnrollmentTokens {
    /** Prefix that makes a token recognisable in logs and secret scanners. */
    public static final String PREFIX = "pqfl-enroll-";

    /** What a token lookup found. */
    public enum Outcome { VALID, UNKNOWN, USED, EXPIRED, OTHER_CLIENT, NOT_SIGNED }

    /** A token as the operator sees it in {@code pqfl token list} (never the token itself). */
    public record Row(String clientId, Instant createdAt, Instant expiresAt, Instant usedAt, String usedKeyId) {
    }

    private final Database db;
    private final Clock clock;
    private final SecureRandom random;
    private final VerifyingKey coordinatorKey;

    /** Tokens checked against {@code coordinatorKey}, the key that signed them. */
    public EnrollmentTokens(Database db, Clock clock, SecureRandom random, VerifyingKey coordinatorKey) {
        this.db = Objects.requireNonNull(db, "db");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.coordinatorKey = Objects.requireNonNull(coordinatorKey, "coordinatorKey");
    }

    /**
     * Creates a token for {@code client}, valid for {@code ttl}, its record signed with {@code coordinator} (the
     * coordinator's own key); the returned string is shown once.
     */
    public String create(ClientId client, Duration ttl, SigningKey coordinator) throws SQLException {
        if (!coordinator.keyId().equals(coordinatorKey.keyId())) {
            throw new IllegalArgumentException("tokens must be signed with the coordinator's key " + coordinatorKey.keyId()
                    + ", not " + coordinator.keyId());
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String token = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        byte[] digest = hash(token);
        byte[] signature = Signer.create(coordinator).sign(record(client.value(), digest, expires.toString())).bytes();
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement("INSERT INTO enrollment_tokens (token_hash, client_id, "
                    + "created_at, expires_at, signature) VALUES (?, ?, ?, ?, ?)")) {
                ps.setBytes(1, digest);
                ps.setString(2, client.value());
                ps.setString(3, now.toString());
                ps.setString(4, expires.toString());
                ps.setBytes(5, signature);
                ps.executeUpdate();
            }
        }
        return token;
    }

    /** The bytes a token record's signature covers: a tag, the client id, the token's digest and its expiry. */
    private static byte[] record(String clientId, byte[] tokenDigest, String expiresAt) {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(buf)) {
            for (byte[] field : new byte[][] {"pqfl.enrollment-token".getBytes(StandardCharsets.UTF_8),
                    clientId.getBytes(StandardCharsets.UTF_8), tokenDigest, expiresAt.getBytes(StandardCharsets.UTF_8)}) {
                out.writeInt(field.length);
                out.write(field);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return buf.toByteArray();
    }

    private boolean signedByCoordinator(String clientId, byte[] tokenDigest, String expiresAt, byte[] signature) {
        if (signature == null) {
            return false;
        }
        try {
            Verifier.create(coordinatorKey).verify(record(clientId, tokenDigest, expiresAt),
                    SignatureValue.of(coordinatorKey.scheme(), signature));
            return true;
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Looks a token up for {@code client} without consuming it. */
    public Outcome check(String token, ClientId client) throws SQLException {
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "SELECT client_id, expires_at, used_at, signature FROM enrollment_tokens WHERE token_hash = ?")) {
                ps.setBytes(1, hash(token));
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Outcome.UNKNOWN;
                    }
                    if (!signedByCoordinator(rs.getString(1), hash(token), rs.getString(2), rs.getBytes(4))) {
                        return Outcome.NOT_SIGNED;
                    }
                    if (rs.getString(3) != null) {
                        return Outcome.USED;
                    }
                    if (!rs.getString(1).equals(client.value())) {
                        return Outcome.OTHER_CLIENT;
                    }
                    if (Instant.parse(rs.getString(2)).isBefore(clock.instant())) {
                        return Outcome.EXPIRED;
                    }
                    return Outcome.VALID;
                }
            }
        }
    }

    /**
     * Consumes a token for {@code client} enrolling {@code key}: {@link Outcome#VALID} exactly once, then
     * {@link Outcome#USED}.
     */
    public Outcome consume(String token, ClientId client, KeyId key) throws SQLException {
        synchronized (db) {
            Outcome o = check(token, client);
            if (o != Outcome.VALID) {
                return o;
            }
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "UPDATE enrollment_tokens SET used_at = ?, used_key_id = ? WHERE token_hash = ? AND used_at IS NULL")) {
                ps.setString(1, clock.instant().toString());
                ps.setString(2, key.hex());
                ps.setBytes(3, hash(token));
                return ps.executeUpdate() == 1 ? Outcome.VALID : Outcome.USED;
            }
        }
    }

    /** Every token ever created, oldest first. */
    public List<Row> list() throws SQLException {
        return list(db);
    }

    /** Every token ever created in {@code db}, oldest first. */
    public static List<Row> list(Database db) throws SQLException {
        List<Row> out = new ArrayList<>();
        synchronized (db) {
            try (PreparedStatement ps = db.connection().prepareStatement(
                    "SELECT client_id, created_at, expires_at, used_at, used_key_id FROM enrollment_tokens ORDER BY created_at");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Row(rs.getString(1), Instant.parse(rs.getString(2)), Instant.parse(rs.getString(3)),
                            rs.getString(4) == null ? null : Instant.parse(rs.getString(4)), rs.getString(5)));
                }
            }
        }
        return out;
    }

    private static byte[] hash(String token) {
        return PayloadDigest.of(token.getBytes(StandardCharsets.UTF_8)).bytes();
    }
}
