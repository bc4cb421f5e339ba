package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The clients {@link RoundMachine} knows of: when each was last seen (who is live), and the task requests waiting
 * for an answer. Pure bookkeeping like the machine (every call carries the time); what a waiting client is told is
 * the machine's decision.
 */
final class Presence {
    private final Duration liveness;
    private final Map<ClientId, Instant> lastSeen = new HashMap<>();
    private final Map<Long, Wait> waits = new LinkedHashMap<>();

    private record Wait(ClientId client, Instant expires) {
    }

    Presence(Duration liveness) {
        this.liveness = liveness;
    }

    void seen(ClientId client, Instant now) {
        lastSeen.put(client, now);
    }

    /** Whether {@code client} was ever seen (said Hello). */
    boolean known(ClientId client) {
        return lastSeen.containsKey(client);
    }

    /** Clients ever seen: an upper bound of {@link #live}, known without sorting. */
    int known() {
        return lastSeen.size();
    }

    /** Live clients: seen within the liveness window before {@code now}, in id order. */
    List<ClientId> live(Instant now) {
        Instant cutoff = now.minus(liveness);
        return lastSeen.entrySet().stream().filter(e -> e.getValue().isAfter(cutoff)).map(Map.Entry::getKey)
                .sorted((a, b) -> a.value().compareTo(b.value())).toList();
    }

    void await(long waitId, ClientId client, Instant expires) {
        waits.put(waitId, new Wait(client, expires));
    }

    void cancel(long waitId) {
        waits.remove(waitId);
    }

    int waiting() {
        return waits.size();
    }

    /**
     * Answers the waits that {@code decide} answers at {@code now}, given each client and whether its wait must be
     * answered (it expired, or {@code force}); the answered ones are forgotten.
     */
    List<Effect> answer(Instant now, boolean force, BiFunction<ClientId, Boolean, RoundMachine.Answer> decide) {
        List<Effect> effects = new ArrayList<>();
        for (var it = waits.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            RoundMachine.Answer a = decide.apply(e.getValue().client(), force || !e.getValue().expires().isAfter(now));
            if (a != null) {
                it.remove();
                effects.add(new Effect.Answer(e.getKey(), a));
            }
        }
        return effects;
    }
}
