package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * The clients {@link RoundMachine} knows of: when each was last seen (who is live), and the task requests waiting
 * for an answer. Pure bookkeeping like the machine (every call carries the time); what a waiting client is told is
 * the machine's decision.
 */
final class Presence {
    private final Duration liveness;
    private final Map<ClientId, Instant> lastSeen = new HashMap<>();
    /** Waiting task requests by id, in arrival order; the same waits by expiry and by client. */
    private final Map<Long, Wait> waits = new LinkedHashMap<>();
    private final NavigableSet<Wait> byExpiry = new TreeSet<>(
            Comparator.comparing(Wait::expires).thenComparingLong(Wait::id));
    private final Map<ClientId, Set<Long>> byClient = new HashMap<>();

    record Wait(long id, ClientId client, Instant expires) {
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
        Wait w = new Wait(waitId, client, expires);
        forget(waits.put(waitId, w));
        byExpiry.add(w);
        byClient.computeIfAbsent(client, c -> new LinkedHashSet<>()).add(waitId);
    }

    void cancel(long waitId) {
        forget(waits.remove(waitId));
    }

    int waiting() {
        return waits.size();
    }

    /** The waiting task requests, in arrival order. */
    List<Wait> pending() {
        return List.copyOf(waits.values());
    }

    /**
     * Answers the waits that {@code decide} answers at {@code now}, asking about every wait, given its client and
     * whether it must be answered (it expired, or {@code force}); the answered ones are forgotten. O(waits): for
     * when what a waiting client may be told has changed for all of them (a round opened, the run finished).
     */
    List<Effect> answerAll(Instant now, boolean force, BiFunction<ClientId, Boolean, RoundMachine.Answer> decide) {
        return answer(List.copyOf(waits.values()), now, force, decide);
    }

    /**
     * Answers, as {@link #answerAll} would when nothing changed for clients other than {@code touched}: only the
     * waits that expired by {@code now} and those of the touched clients are asked about. O(log waits) per wait
     * asked about, so an event costs the same with ten thousand clients waiting as with ten.
     */
    List<Effect> answerExpiredAnd(Collection<ClientId> touched, Instant now,
                                  BiFunction<ClientId, Boolean, RoundMachine.Answer> decide) {
        Map<Long, Wait> asked = new LinkedHashMap<>();
        for (Wait w : byExpiry) {
            if (w.expires().isAfter(now)) {
                break;
            }
            asked.put(w.id(), w);
        }
        for (ClientId c : touched) {
            for (long id : byClient.getOrDefault(c, Set.of())) {
                asked.putIfAbsent(id, waits.get(id));
            }
        }
        return answer(asked.values(), now, false, decide);
    }

    private List<Effect> answer(Collection<Wait> asked, Instant now, boolean force,
                                BiFunction<ClientId, Boolean, RoundMachine.Answer> decide) {
        List<Effect> effects = new ArrayList<>();
        for (Wait w : asked) {
            RoundMachine.Answer a = decide.apply(w.client(), force || !w.expires().isAfter(now));
            if (a != null) {
                cancel(w.id());
                effects.add(new Effect.Answer(w.id(), a));
            }
        }
        return effects;
    }

    private void forget(Wait w) {
        if (w == null) {
            return;
        }
        byExpiry.remove(w);
        Set<Long> ids = byClient.get(w.client());
        if (ids != null && ids.remove(w.id()) && ids.isEmpty()) {
            byClient.remove(w.client());
        }
    }
}
