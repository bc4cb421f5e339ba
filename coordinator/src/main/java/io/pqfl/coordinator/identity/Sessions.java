package io.pqfl.coordinator.identity;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The coordinator's authenticated sessions: a random token per client, handed out by a Hello whose proof of
 * possession verified, bound to the client id and key id, valid for a short time. One session per client:
 * a new Hello replaces the previous token. Only authenticated clients create entries, so the table holds at
 * most one per enrolled client.
 */
public final class Sessions {
    /** An authenticated session. */
    public record Session(String token, ClientId clientId, KeyId keyId, Instant expires) {
        public Session {
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(expires, "expires");
        }

        @Override
        public String toString() {
            return "Session[" + clientId + ", key " + keyId + ", until " + expires + "]"; // never the token
        }
    }

    private final Map<String, Session> byToken = new ConcurrentHashMap<>();
    private final Map<ClientId, Session> byClient = new ConcurrentHashMap<>();
    private final SecureRandom random;
    private final Clock clock;
    private final Duration ttl;

    public Sessions(SecureRandom random, Clock clock, Duration ttl) {
        this.random = Objects.requireNonNull(random, "random");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ttl = Objects.requireNonNull(ttl, "ttl");
    }

    /** Opens a session for an authenticated client, replacing its previous one. */
    public synchronized Session open(ClientId clientId, KeyId keyId) {
        byte[] raw = new byte[32];
        random.nextBytes(raw);
        Session s = new Session(Base64.getUrlEncoder().withoutPadding().encodeToString(raw), clientId, keyId,
                clock.instant().plus(ttl));
        Session previous = byClient.put(clientId, s);
        if (previous != null) {
            byToken.remove(previous.token());
        }
        byToken.put(s.token(), s);
        return s;
    }

    /** The live session with this token; empty when unknown or expired. */
    public Optional<Session> find(String token) {
        if (token == null) {
            return Optional.empty();
        }
        Session s = byToken.get(token);
        if (s == null) {
            return Optional.empty();
        }
        if (!s.expires().isAfter(clock.instant())) {
            end(s);
            return Optional.empty();
        }
        return Optional.of(s);
    }

    /** Ends a session (its client was revoked, or its key changed). */
    public synchronized void end(Session s) {
        byToken.remove(s.token());
        byClient.remove(s.clientId(), s);
    }

    public int size() {
        return byToken.size();
    }
}
