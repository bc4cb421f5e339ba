package io.pqfl.coordinator.dashboard;

import io.pqfl.coordinator.round.UpdateListener;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Each client's last status, for the dashboard: when it was last seen (a Hello that verified, or an update) and what
 * its last update came to. Only what the coordinator already decided reaches it, and it holds at most
 * {@link #CAPACITY} clients (the least recently active is forgotten first), so no caller can grow it without bound.
 */
public final class ClientActivity implements UpdateListener {
    /** The most clients remembered. */
    public static final int CAPACITY = 10_000;

    /** A client's last status: {@code event} is {@code seen}, {@code accepted} or {@code rejected} (with its reason). */
    public record Status(String client, Instant lastSeen, String event, long round, String reason) {
    }

    private final Clock clock;
    private final Map<String, Status> clients = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Status> eldest) {
            return size() > CAPACITY;
        }
    };

    public ClientActivity(Clock clock) {
        this.clock = clock;
    }

    /** A client that authenticated (its Hello's proof of possession verified). */
    public void seen(ClientId client) {
        synchronized (clients) {
            Status last = clients.get(client.value());
            clients.put(client.value(), last == null ? new Status(client.value(), clock.instant(), "seen", 0, null)
                    : new Status(client.value(), clock.instant(), last.event(), last.round(), last.reason()));
        }
    }

    @Override
    public void accepted(ClientId client, long round, long verifyNanos, long bytes) {
        record(client.value(), "accepted", round, null);
    }

    @Override
    public void rejected(String client, long round, RejectReason reason) {
        // The coordinator passes the id of the refused upload's authenticated session; kept only if well-formed anyway.
        if (client != null && ClientId.isValid(client)) {
            record(client, "rejected", round, reason.name());
        }
    }

    private void record(String client, String event, long round, String reason) {
        synchronized (clients) {
            clients.put(client, new Status(client, clock.instant(), event, round, reason));
        }
    }

    /** How many clients are remembered. */
    public int size() {
        synchronized (clients) {
            return clients.size();
        }
    }

    /** The {@code limit} most recently active clients, newest first. */
    public List<Status> recent(int limit) {
        List<Status> all;
        synchronized (clients) {
            all = new ArrayList<>(clients.values());
        }
        all.sort(Comparator.comparing(Status::lastSeen).reversed());
        return all.subList(0, Math.min(limit, all.size()));
    }
}
