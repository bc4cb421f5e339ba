package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The open training round inside {@link RoundMachine}: who was sampled, who delivered, who is uploading, who is
 * being recorded, who failed, and the upload transitions on that state. Pure like the machine (no I/O, no locks, no
 * clock), and driven only by it: the machine decides when a round opens and whether it is in a stage that takes
 * uploads; this class decides what an upload in the open round may do and when the round may close.
 */
final class TrainingRound {
    final long number;
    final RoundPlan opened; // as sampled, for Effect.OpenRound
    private final RoundNonce nonce;
    private final Instant deadline;
    private final Set<ClientId> sampled;
    private final RoundMachine.Settings settings;
    RoundMachine.Phase phase = RoundMachine.Phase.TRAIN;
    private final Set<ClientId> accepted = new HashSet<>();
    /** Clients whose verified update is being recorded (spooled, ledgered, folded), with that upload's id. */
    private final Map<ClientId, Long> recording = new HashMap<>();
    private final Map<ClientId, Long> uploading = new HashMap<>();
    private final Set<ClientId> failed = new HashSet<>();
    /** Left out by secure aggregation: not waited for, their updates refused. */
    private final Set<ClientId> excused = new HashSet<>();
    private final Map<ClientId, Integer> rejections = new HashMap<>();
    private int rejected;

    /** Opens round {@code number}: samples its clients among the {@code eligible} live ones and draws its nonce. */
    static TrainingRound open(long number, List<ClientId> eligible, RoundMachine.Sampler sampler,
                              Supplier<RoundNonce> nonces, Instant now, RoundMachine.Settings settings) {
        List<ClientId> sampled = sampler.sample(number, eligible).stream()
                .sorted((a, b) -> a.value().compareTo(b.value())).toList();
        return new TrainingRound(new RoundPlan(number, nonces.get(), sampled, now.plus(settings.roundTimeout())),
                Set.of(), settings);
    }

    /** The round of {@code plan}, with these updates already accepted (a resumed round; none for a new one). */
    TrainingRound(RoundPlan plan, Set<ClientId> accepted, RoundMachine.Settings settings) {
        this.number = plan.round();
        this.opened = plan;
        this.nonce = plan.nonce();
        this.deadline = plan.deadline();
        this.sampled = new LinkedHashSet<>(plan.sampled());
        this.settings = settings;
        this.accepted.addAll(accepted);
    }

    RoundPlan plan() {
        return new RoundPlan(number, nonce, List.copyOf(sampled), deadline);
    }

    /** {@link RoundMachine#uploadBegun} in this round, open for uploads. */
    RoundMachine.Admission uploadBegun(long uploadId, ClientId client, long round) {
        if (overRejectionLimit(client)) {
            return RoundMachine.Admission.refused(RejectReason.REJECTION_LIMIT, "client " + client + " had "
                    + settings.maxRejectionsPerRound() + " updates refused in round " + number
                    + "; it may not try again before the next round");
        }
        if (round != number) {
            return RoundMachine.Admission.refused(RejectReason.STALE_ROUND, "update is for round " + round
                    + ", the open round is " + number);
        }
        if (!sampled.contains(client)) {
            return RoundMachine.Admission.refused(RejectReason.NOT_SAMPLED, "client " + client
                    + " was not sampled for round " + number);
        }
        if (recording.containsKey(client)) {
            // Most likely a retry of that very update whose answer has not arrived yet: once it is recorded, the
            // retry is told DUPLICATE with the ledger entry (docs/PROTOCOL.md, "Retries").
            return RoundMachine.Admission.refused(RejectReason.BUSY, "client " + client + "'s update for round " + number
                    + " is being recorded; retry shortly");
        }
        if (delivered(client)) {
            return RoundMachine.Admission.refused(RejectReason.DUPLICATE, "client " + client
                    + " already submitted an update for round " + number);
        }
        if (excused.contains(client)) {
            return RoundMachine.Admission.refused(RejectReason.NOT_SAMPLED, "client " + client
                    + " was left out of round " + number + "'s secure aggregation");
        }
        Long older = uploading.put(client, uploadId);
        return RoundMachine.Admission.admitted(older == null ? List.of() : List.of(new Effect.Supersede(older)));
    }

    /** {@link RoundMachine#updateVerified} in this round, still open: the update is being recorded, or refused. */
    RoundMachine.Admission updateVerified(long uploadId, ClientId client) {
        if (!Objects.equals(uploading.get(client), uploadId)) {
            return RoundMachine.Admission.refused(RejectReason.INCOMPLETE, "superseded by a newer upload of the same client");
        }
        if (delivered(client)) {
            return RoundMachine.Admission.refused(RejectReason.DUPLICATE, "client " + client
                    + " already submitted an update for round " + number);
        }
        uploading.remove(client);
        recording.put(client, uploadId);
        return RoundMachine.Admission.admitted(List.of());
    }

    /** {@link RoundMachine#clientsExcused}: these sampled clients are no longer waited for. */
    void excuse(Set<ClientId> clients) {
        for (ClientId c : clients) {
            if (sampled.contains(c) && !delivered(c)) {
                excused.add(c);
            }
        }
    }

    /** {@link RoundMachine#updateRecorded}: the client delivered. */
    void updateRecorded(ClientId client) {
        if (recording.remove(client) != null) {
            accepted.add(client);
        }
    }

    /** {@link RoundMachine#uploadEnded} in this round: returns whether the refusal is worth recording. */
    boolean uploadEnded(long uploadId, ClientId client, RejectReason reason) {
        uploading.remove(client, uploadId);
        // Only the upload being recorded ends its recording: a refused header of the same client (upload id -1) or
        // another of its uploads must not, or the recorded update would be folded in but never counted accepted.
        if (recording.remove(client, uploadId) && reason == null) {
            reason = RejectReason.INCOMPLETE;
        }
        if (reason == null) {
            return true;
        }
        rejected++;
        boolean record = rejections.merge(client, 1, Integer::sum) <= settings.maxRejectionsPerRound();
        if (reason != RejectReason.INCOMPLETE && sampled.contains(client)) {
            failed.add(client);
        }
        return record;
    }

    /** Whether {@code client} used up its refusals in this round. */
    boolean overRejectionLimit(ClientId client) {
        return rejections.getOrDefault(client, 0) >= settings.maxRejectionsPerRound();
    }

    /** Whether {@code client} should be handed its task now: sampled, and neither delivered nor settled by a refusal. */
    boolean owesUpdate(ClientId client) {
        boolean settledByRejection = settings.closeOnRejection() && failed.contains(client);
        return sampled.contains(client) && !delivered(client) && !settledByRejection && !excused.contains(client);
    }

    /**
     * At {@code now}: the round's {@link Effect.CloseRound} when every sampled client settled or the deadline passed
     * and nothing is being recorded; a {@link Effect.WakeAt} its deadline while it is neither; else nothing.
     */
    Effect closeOrWake(Instant now) {
        boolean settled = settled();
        if (settled || !now.isBefore(deadline)) {
            return recording.isEmpty() ? new Effect.CloseRound(number, Set.copyOf(accepted), rejected, settled,
                    accepted.size() >= settings.minUpdates()) : null;
        }
        return new Effect.WakeAt(deadline);
    }

    boolean delivered(ClientId client) {
        return accepted.contains(client) || recording.containsKey(client);
    }

    private boolean settled() {
        int done = accepted.size();
        for (ClientId c : excused) {
            if (!accepted.contains(c)) {
                done++;
            }
        }
        if (settings.closeOnRejection()) {
            for (ClientId c : failed) {
                if (!accepted.contains(c) && !excused.contains(c)) {
                    done++;
                }
            }
        }
        return done >= sampled.size() && recording.isEmpty();
    }
}
