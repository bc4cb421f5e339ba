package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Clients that said hello, with when they were last heard from; sampling picks among the live ones. */
final class ClientRegistry {
    private final Map<ClientId, Instant> lastSeen = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration liveness;

    ClientRegistry(Clock clock, Duration liveness) {
        this.clock = clock;
        this.liveness = liveness;
    }

    void seen(ClientId id) {
        lastSeen.put(id, clock.instant());
    }

    boolean isKnown(ClientId id) {
        return lastSeen.containsKey(id);
    }

    List<ClientId> live() {
        Instant cutoff = clock.instant().minus(liveness);
        return lastSeen.entrySet().stream().filter(e -> e.getValue().isAfter(cutoff)).map(Map.Entry::getKey)
                .sorted((a, b) -> a.value().compareTo(b.value())).toList();
    }
}
