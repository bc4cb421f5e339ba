package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The federation's rounds as a pure state machine: events in (a client seen, a task asked for, an upload begun,
 * an update verified or refused, time passing, a round closed, a restart), effects out ({@link Effect}: persist
 * this round, close that one, answer these waits, wake me then). No I/O, no protobuf, no locks, no clock of its
 * own: every event carries the time. Its owner ({@link FederationEngine}) serialises the calls and carries the
 * effects out.
 *
 * <p>A round goes through its {@link Phase}s in order and closes after the last; today the one phase is
 * {@link Phase#TRAIN}. Which clients are sampled, and with what configuration, is the strategy's choice
 * ({@link Sampler}).
 *
 * <p>Federated evaluation ({@link EvaluationSettings}): after a round closes whose number is a multiple of
 * {@code every}, or after the last round, the machine is {@link Stage#EVALUATING} the model that round published:
 * once at least {@code minEvaluators} eligible clients are live it samples evaluators
 * ({@link Effect.OpenEvaluation}), hands each an EVALUATE task, admits one evaluation per evaluator
 * ({@link #evaluationBegun}, {@link #evaluationReceived}, {@link #evaluationRefused}), and closes
 * ({@link Effect.CloseEvaluation}) when all answered or at the evaluation deadline (with no evaluators at all, at
 * the deadline); {@link #evaluationClosed} then opens the next round or finishes. No round is open meanwhile.
 * An evaluation is not resumed after a restart.
 */
public final class RoundMachine {
    /** The fixed rules of a federation's rounds. */
    public record Settings(long totalRounds, int minClients, int minUpdates, Duration roundTimeout, Duration liveness,
                           boolean closeOnRejection, int maxRejectionsPerRound) {
        public Settings {
            Objects.requireNonNull(roundTimeout, "roundTimeout");
            Objects.requireNonNull(liveness, "liveness");
        }
    }

    /**
     * When and how the models of rounds are evaluated by clients. {@code every}: after each round whose number is a
     * multiple of it (0: never between rounds); {@code afterLast}: after the last round; {@code minEvaluators}: the
     * live eligible clients needed before evaluators are sampled; {@code timeout}: from the close of the round.
     */
    public record EvaluationSettings(int every, boolean afterLast, int minEvaluators, Duration timeout) {
        /** No federated evaluation. */
        public static final EvaluationSettings NONE = new EvaluationSettings(0, false, 1, Duration.ofMinutes(1));

        public EvaluationSettings {
            Objects.requireNonNull(timeout, "timeout");
            if (every < 0 || minEvaluators < 1 || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("bad evaluation settings: every " + every + ", min evaluators "
                        + minEvaluators + ", timeout " + timeout);
            }
        }

        boolean due(long round, long totalRounds) {
            return every > 0 && round % every == 0 || afterLast && round >= totalRounds;
        }
    }

    /** Chooses a round's clients among the eligible live ones (the strategy's sampling). */
    @FunctionalInterface
    public interface Sampler {
        List<ClientId> sample(long round, List<ClientId> eligible);
    }

    private final Settings settings;
    private final EvaluationSettings evaluation;
    private final Sampler sampler;
    private final Sampler evaluators;
    private final Predicate<ClientId> enrolled;
    private final java.util.function.Supplier<RoundNonce> nonces;
    private final Map<ClientId, Instant> lastSeen = new HashMap<>();
    private final Map<Long, Wait> waits = new LinkedHashMap<>();
    private Stage stage = Stage.WAITING_FOR_CLIENTS;
    private long lastClosed;
    private Round open;
    private Evaluation evaluating;
    private long lastEvaluated;
    private boolean stopped;

    private record Wait(ClientId client, Instant expires) {
    }

    /** The open round's state: who was sampled, who delivered, who is uploading, who failed. */
    private static final class Round {
        final long number;
        final RoundNonce nonce;
        final Set<ClientId> sampled;
        final Instant deadline;
        Phase phase = Phase.TRAIN;
        final Set<ClientId> accepted = new HashSet<>();
        final Set<ClientId> recording = new HashSet<>();
        final Map<ClientId, Long> uploading = new HashMap<>();
        final Set<ClientId> failed = new HashSet<>();
        final Map<ClientId, Integer> rejections = new HashMap<>();
        int rejected;

        Round(long number, RoundNonce nonce, List<ClientId> sampled, Instant deadline) {
            this.number = number;
            this.nonce = nonce;
            this.sampled = new LinkedHashSet<>(sampled);
            this.deadline = deadline;
        }

        boolean settled(boolean countFailures) {
            int done = accepted.size();
            if (countFailures) {
                for (ClientId c : failed) {
                    if (!accepted.contains(c)) {
                        done++;
                    }
                }
            }
            return done >= sampled.size() && recording.isEmpty();
        }
    }

    /** The evaluation of a published model: its evaluators (null until sampled), who answered, who is being recorded. */
    private static final class Evaluation {
        final long round;
        final Instant deadline;
        RoundNonce nonce;
        Set<ClientId> sampled;
        boolean closing;
        final Set<ClientId> answered = new HashSet<>();
        final Set<ClientId> recording = new HashSet<>();
        final Map<ClientId, Integer> rejections = new HashMap<>();

        Evaluation(long round, Instant deadline) {
            this.round = round;
            this.deadline = deadline;
        }
    }

    /** A machine without federated evaluation. */
    public RoundMachine(Settings settings, Sampler sampler, Predicate<ClientId> enrolled,
                        java.util.function.Supplier<RoundNonce> nonces) {
        this(settings, EvaluationSettings.NONE, sampler, (round, eligible) -> eligible, enrolled, nonces);
    }

    /**
     * @param evaluators chooses a model's evaluators among the eligible live clients
     */
    public RoundMachine(Settings settings, EvaluationSettings evaluation, Sampler sampler, Sampler evaluators,
                        Predicate<ClientId> enrolled, java.util.function.Supplier<RoundNonce> nonces) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.evaluation = Objects.requireNonNull(evaluation, "evaluation");
        this.sampler = Objects.requireNonNull(sampler, "sampler");
        this.evaluators = Objects.requireNonNull(evaluators, "evaluators");
        this.enrolled = Objects.requireNonNull(enrolled, "enrolled");
        this.nonces = Objects.requireNonNull(nonces, "nonces");
    }

    // ------------------------------------------------------------------ restart

    /**
     * A restart: the store says {@code lastClosed} rounds are closed and, if {@code resumed} is not null, that
     * round is open with the same nonce, sampled clients and these already accepted updates. Replaying the
     * store into the machine is all a restart is.
     */
    public List<Effect> restore(long lastClosed, RoundPlan resumed, Set<ClientId> accepted, Instant now) {
        this.lastClosed = lastClosed;
        if (resumed != null) {
            open = new Round(resumed.round(), resumed.nonce(), resumed.sampled(), resumed.deadline());
            open.accepted.addAll(accepted);
            stage = Stage.ROUND_OPEN;
        }
        return advance(now);
    }

    // ------------------------------------------------------------------ events

    /** An authenticated client showed itself (Hello, a task request, an upload): it is live. */
    public List<Effect> clientSeen(ClientId client, Instant now) {
        lastSeen.put(client, now);
        return advance(now);
    }

    /**
     * A client asks for its task and may wait until {@code expires}. The answer comes as an
     * {@link Effect.Answer} now or later (when its task is ready, the run ends, or the wait runs out).
     */
    public List<Effect> taskRequested(long waitId, ClientId client, Instant now, Instant expires) {
        List<Effect> effects = new ArrayList<>();
        if (lastSeen.containsKey(client)) {
            lastSeen.put(client, now);
            effects.addAll(advance(now));
        }
        Answer answer = decide(client, !expires.isAfter(now));
        if (answer != null) {
            effects.add(new Effect.Answer(waitId, answer));
        } else {
            waits.put(waitId, new Wait(client, expires));
            effects.add(new Effect.WakeAt(expires));
        }
        return effects;
    }

    /** The client went away: its wait is forgotten without an answer. */
    public void waitCancelled(long waitId) {
        waits.remove(waitId);
    }

    /** Task requests waiting for an answer now. */
    public int pendingWaits() {
        return waits.size();
    }

    /**
     * A client begins an upload for {@code round}. Refused (the reason) when the round is not open for uploads,
     * the client already delivered, or it was refused too often this round; otherwise the upload is the
     * client's current one, and an older one still in progress is superseded ({@link Effect.Supersede}).
     */
    public Admission uploadBegun(long uploadId, ClientId client, long round) {
        Round o = open != null && stage == Stage.ROUND_OPEN && open.phase == Phase.TRAIN ? open : null;
        if (o != null && o.rejections.getOrDefault(client, 0) >= settings.maxRejectionsPerRound()) {
            return Admission.refused(RejectReason.REJECTION_LIMIT, "client " + client + " had "
                    + settings.maxRejectionsPerRound() + " updates refused in round " + o.number
                    + "; it may not try again before the next round");
        }
        if (o == null) {
            return Admission.refused(RejectReason.NO_OPEN_ROUND, "no round is open");
        }
        if (round != o.number) {
            return Admission.refused(RejectReason.STALE_ROUND, "update is for round " + round + ", the open round is "
                    + o.number);
        }
        if (!o.sampled.contains(client)) {
            return Admission.refused(RejectReason.NOT_SAMPLED, "client " + client + " was not sampled for round " + o.number);
        }
        if (o.accepted.contains(client) || o.recording.contains(client)) {
            return Admission.refused(RejectReason.DUPLICATE, "client " + client + " already submitted an update for round "
                    + o.number);
        }
        Long older = o.uploading.put(client, uploadId);
        return Admission.admitted(older == null ? List.of() : List.of(new Effect.Supersede(older)));
    }

    /**
     * An upload's update verified. It may be recorded only if it is still its client's current upload in the
     * open round and the client has not delivered: then the owner records it (spool, ledger, aggregate) and
     * reports back with {@link #updateRecorded} or {@link #uploadEnded}.
     */
    public Admission updateVerified(long uploadId, ClientId client, long round) {
        Round o = open;
        if (o == null || o.number != round || stage != Stage.ROUND_OPEN) {
            return Admission.refused(RejectReason.STALE_ROUND, "round " + round + " closed while the update was being received");
        }
        if (!Objects.equals(o.uploading.get(client), uploadId)) {
            return Admission.refused(RejectReason.INCOMPLETE, "superseded by a newer upload of the same client");
        }
        if (o.accepted.contains(client) || o.recording.contains(client)) {
            return Admission.refused(RejectReason.DUPLICATE, "client " + client + " already submitted an update for round "
                    + round);
        }
        o.uploading.remove(client);
        o.recording.add(client);
        return Admission.admitted(List.of());
    }

    /** A verified update was recorded and folded into the round's aggregate. */
    public List<Effect> updateRecorded(ClientId client, long round, Instant now) {
        Round o = open;
        if (o != null && o.number == round && o.recording.remove(client)) {
            o.accepted.add(client);
        }
        return advance(now);
    }

    /**
     * An upload ended without an accepted update: {@code reason} refused it (a verdict on the update, which settles
     * the client's part in the round unless it is {@link RejectReason#INCOMPLETE}: a client that lost its stream
     * may try again), or null when the client's own stream simply went away. Returns whether the refusal is one
     * of the round's first {@link Settings#maxRejectionsPerRound()} for this client (and so worth recording).
     */
    public Ended uploadEnded(long uploadId, ClientId client, long round, RejectReason reason, Instant now) {
        Round o = open;
        boolean record = true;
        if (o != null && o.number == round) {
            o.uploading.remove(client, uploadId);
            if (o.recording.remove(client) && reason == null) {
                reason = RejectReason.INCOMPLETE;
            }
            if (reason != null) {
                o.rejected++;
                record = o.rejections.merge(client, 1, Integer::sum) <= settings.maxRejectionsPerRound();
                if (reason != RejectReason.INCOMPLETE && o.sampled.contains(client)) {
                    o.failed.add(client);
                }
            }
        }
        return new Ended(record, advance(now));
    }

    /** Time passed: deadlines, expiring waits, clients no longer live. */
    public List<Effect> tick(Instant now) {
        return advance(now);
    }

    /** The owner closed the round the machine asked it to close ({@link Effect.CloseRound}) and published its model. */
    public List<Effect> roundClosed(long round, Instant now) {
        return roundClosed(round, round, now);
    }

    /**
     * The owner closed the round the machine asked it to close ({@link Effect.CloseRound}); the global model is now
     * that of {@code modelRound} ({@code round} when it published one, older when the round was skipped). If an
     * evaluation is due after this round and that model was not evaluated yet (and is not the initial model), the
     * machine evaluates it before the next round.
     */
    public List<Effect> roundClosed(long round, long modelRound, Instant now) {
        if (open == null || open.number != round) {
            throw new IllegalStateException("round " + round + " is not the one being closed");
        }
        lastClosed = round;
        open = null;
        if (evaluation.due(round, settings.totalRounds()) && modelRound >= 1 && modelRound > lastEvaluated) {
            evaluating = new Evaluation(modelRound, now.plus(evaluation.timeout()));
            stage = Stage.EVALUATING;
        } else {
            stage = Stage.WAITING_FOR_CLIENTS; // advance() finishes the federation after its last round
        }
        return advance(now);
    }

    /**
     * A client submits its evaluation of round {@code round}'s model. Refused (the reason) when no evaluation is
     * open or it is another round's, the client was not sampled, already answered or is being recorded, or had its
     * evaluations refused too often; otherwise it is being recorded until {@link #evaluationReceived} or
     * {@link #evaluationRefused}.
     */
    public Admission evaluationBegun(ClientId client, long round) {
        Evaluation e = stage == Stage.EVALUATING && evaluating != null && evaluating.sampled != null
                && !evaluating.closing ? evaluating : null;
        if (e != null && e.rejections.getOrDefault(client, 0) >= settings.maxRejectionsPerRound()) {
            return Admission.refused(RejectReason.REJECTION_LIMIT, "client " + client + " had "
                    + settings.maxRejectionsPerRound() + " evaluations refused for round " + e.round);
        }
        if (e == null) {
            return Admission.refused(RejectReason.NO_OPEN_ROUND, "no evaluation is open");
        }
        if (round != e.round) {
            return Admission.refused(RejectReason.STALE_ROUND, "evaluation is for round " + round
                    + ", the open evaluation is of round " + e.round + "'s model");
        }
        if (!e.sampled.contains(client)) {
            return Admission.refused(RejectReason.NOT_SAMPLED, "client " + client + " was not sampled to evaluate round "
                    + e.round + "'s model");
        }
        if (e.answered.contains(client) || e.recording.contains(client)) {
            return Admission.refused(RejectReason.DUPLICATE, "client " + client + " already submitted its evaluation of round "
                    + e.round + "'s model");
        }
        e.recording.add(client);
        return Admission.admitted(List.of());
    }

    /** An admitted evaluation verified and was recorded: the client answered. */
    public List<Effect> evaluationReceived(ClientId client, long round, Instant now) {
        Evaluation e = evaluating;
        if (e != null && e.round == round && e.recording.remove(client)) {
            e.answered.add(client);
        }
        return advance(now);
    }

    /**
     * An evaluation of {@code client} was refused ({@code reason}): before admission ({@code admitted} false: by the
     * machine or a check on the session), or after. A refusal does not settle the client's part: it may try again,
     * up to {@link Settings#maxRejectionsPerRound()} refusals per evaluation. Returns whether the refusal is worth
     * recording: one of the client's first refusals while an evaluation is open (none is recorded when no
     * evaluation is open, so a client cannot fill the ledger between evaluations).
     */
    public Ended evaluationRefused(ClientId client, long round, RejectReason reason, boolean admitted, Instant now) {
        Evaluation e = evaluating;
        boolean record = false;
        if (e != null) {
            if (admitted && e.round == round) {
                e.recording.remove(client);
            }
            record = e.rejections.merge(client, 1, Integer::sum) <= settings.maxRejectionsPerRound();
        }
        return new Ended(record, advance(now));
    }

    /** The owner closed the evaluation the machine asked it to close ({@link Effect.CloseEvaluation}). */
    public List<Effect> evaluationClosed(long round, Instant now) {
        if (evaluating == null || evaluating.round != round || !evaluating.closing) {
            throw new IllegalStateException("the evaluation of round " + round + " is not the one being closed");
        }
        lastEvaluated = round;
        evaluating = null;
        stage = Stage.WAITING_FOR_CLIENTS;
        return advance(now);
    }

    /** The coordinator is shutting down: every wait is answered now, nothing new starts. */
    public List<Effect> stop(Instant now) {
        stopped = true;
        return answerWaits(now, true);
    }

    // ------------------------------------------------------------------ queries

    /** Whether {@code client} used up its refusals in the open round (its uploads are refused up front). */
    public boolean overRejectionLimit(ClientId client) {
        return open != null && open.rejections.getOrDefault(client, 0) >= settings.maxRejectionsPerRound();
    }

    public Stage stage() {
        return stage;
    }

    public long lastClosed() {
        return lastClosed;
    }

    /** The round whose model is being evaluated, if an evaluation is open with its evaluators sampled. */
    public java.util.Optional<RoundPlan> openEvaluation() {
        Evaluation e = evaluating;
        return e == null || e.sampled == null || e.nonce == null ? java.util.Optional.empty()
                : java.util.Optional.of(new RoundPlan(e.round, e.nonce, List.copyOf(e.sampled), e.deadline));
    }

    /** The round of the newest model whose evaluation closed (0: none). */
    public long lastEvaluated() {
        return lastEvaluated;
    }

    /** The open round's number, or the last closed one when none is open. */
    public long currentRound() {
        return open == null ? lastClosed : open.number;
    }

    /** The open round's plan, if one is open. */
    public java.util.Optional<RoundPlan> openRound() {
        return open == null ? java.util.Optional.empty()
                : java.util.Optional.of(new RoundPlan(open.number, open.nonce, List.copyOf(open.sampled), open.deadline));
    }

    /** Live clients: seen within the liveness window before {@code now}. */
    public List<ClientId> live(Instant now) {
        Instant cutoff = now.minus(settings.liveness());
        return lastSeen.entrySet().stream().filter(e -> e.getValue().isAfter(cutoff)).map(Map.Entry::getKey)
                .sorted((a, b) -> a.value().compareTo(b.value())).toList();
    }

    // ------------------------------------------------------------------ transitions

    /** Everything that follows from the state at {@code now}: open, close, answer waits, set the next wake-up. */
    private List<Effect> advance(Instant now) {
        List<Effect> effects = new ArrayList<>();
        if (stopped) {
            return effects;
        }
        if (stage == Stage.WAITING_FOR_CLIENTS) {
            if (lastClosed >= settings.totalRounds()) {
                stage = Stage.FINISHED;
                effects.add(new Effect.Finished(lastClosed));
            } else {
                List<ClientId> eligible = live(now).stream().filter(enrolled).toList();
                if (eligible.size() >= settings.minClients()) {
                    long number = lastClosed + 1;
                    List<ClientId> sampled = sampler.sample(number, eligible).stream()
                            .sorted((a, b) -> a.value().compareTo(b.value())).toList();
                    RoundPlan plan = new RoundPlan(number, nonces.get(), sampled, now.plus(settings.roundTimeout()));
                    open = new Round(plan.round(), plan.nonce(), plan.sampled(), plan.deadline());
                    stage = Stage.ROUND_OPEN;
                    effects.add(new Effect.OpenRound(plan, eligible.size()));
                }
            }
        }
        if (stage == Stage.EVALUATING && evaluating != null && !evaluating.closing) {
            effects.addAll(advanceEvaluation(now));
        }
        if (stage == Stage.ROUND_OPEN && open != null) {
            boolean settled = open.settled(settings.closeOnRejection());
            if (settled || !now.isBefore(open.deadline)) {
                if (open.recording.isEmpty()) {
                    stage = Stage.AGGREGATING;
                    effects.add(new Effect.CloseRound(open.number, Set.copyOf(open.accepted), open.rejected, settled,
                            open.accepted.size() >= settings.minUpdates()));
                }
            } else {
                effects.add(new Effect.WakeAt(open.deadline));
            }
        }
        effects.addAll(answerWaits(now, false));
        return effects;
    }

    /** Samples the evaluators once enough are live; closes when all answered or at the deadline. */
    private List<Effect> advanceEvaluation(Instant now) {
        Evaluation e = evaluating;
        boolean late = !now.isBefore(e.deadline);
        if (e.sampled == null) {
            List<ClientId> eligible = live(now).stream().filter(enrolled).toList();
            if (eligible.size() >= evaluation.minEvaluators()) {
                List<ClientId> chosen = evaluators.sample(e.round, eligible).stream()
                        .sorted((a, b) -> a.value().compareTo(b.value())).toList();
                e.sampled = new LinkedHashSet<>(chosen);
                e.nonce = nonces.get();
                return withWake(List.of(new Effect.OpenEvaluation(new RoundPlan(e.round, e.nonce, chosen, e.deadline),
                        eligible.size())), e, now);
            }
            if (late) {
                e.closing = true;
                e.sampled = Set.of();
                return List.of(new Effect.CloseEvaluation(e.round, Set.of(), 0, false, "fewer than "
                        + evaluation.minEvaluators() + " eligible live clients (" + eligible.size()
                        + ") before the evaluation deadline"));
            }
            return List.of(new Effect.WakeAt(e.deadline));
        }
        return withWake(List.of(), e, now);
    }

    private List<Effect> withWake(List<Effect> before, Evaluation e, Instant now) {
        List<Effect> effects = new ArrayList<>(before);
        boolean settled = e.answered.size() >= e.sampled.size() && e.recording.isEmpty();
        if (settled || !now.isBefore(e.deadline)) {
            if (e.recording.isEmpty()) {
                e.closing = true;
                effects.add(new Effect.CloseEvaluation(e.round, Set.copyOf(e.answered), e.sampled.size(), settled,
                        e.answered.isEmpty() ? (e.sampled.isEmpty() ? "no evaluators were sampled"
                                : "none of the " + e.sampled.size() + " evaluators answered before the deadline") : null));
            }
        } else {
            effects.add(new Effect.WakeAt(e.deadline));
        }
        return effects;
    }

    /** Answers the waits that can be answered at {@code now} (all of them when {@code force}). */
    private List<Effect> answerWaits(Instant now, boolean force) {
        List<Effect> effects = new ArrayList<>();
        for (var it = waits.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            Answer a = decide(e.getValue().client(), force || !e.getValue().expires().isAfter(now));
            if (a != null) {
                it.remove();
                effects.add(new Effect.Answer(e.getKey(), a));
            }
        }
        return effects;
    }

    /** What a waiting client gets now, or null to keep waiting; {@code timedOut} forces an answer. */
    private Answer decide(ClientId client, boolean timedOut) {
        if (stage == Stage.FINISHED) {
            return new Answer.Finished();
        }
        Round o = open;
        boolean settledByRejection = o != null && settings.closeOnRejection() && o.failed.contains(client);
        if (o != null && stage == Stage.ROUND_OPEN && o.phase == Phase.TRAIN && o.sampled.contains(client)
                && !o.accepted.contains(client) && !o.recording.contains(client) && !settledByRejection) {
            return new Answer.TaskReady(o.number);
        }
        Evaluation e = stage == Stage.EVALUATING ? evaluating : null;
        if (e != null && e.sampled != null && !e.closing && e.sampled.contains(client) && !e.answered.contains(client)
                && !e.recording.contains(client)) {
            return new Answer.EvaluateReady(e.round);
        }
        if (timedOut || stopped) {
            return new Answer.NoTask(!lastSeen.containsKey(client) ? "say Hello first"
                    : e != null ? "not sampled to evaluate round " + e.round + "'s model"
                    : o == null ? "no round is open" : "not sampled for round " + o.number);
        }
        return null;
    }

    // ------------------------------------------------------------------ types

    /** The phases of a round, in order. A phase is where new round logic (evaluation, secure aggregation) goes. */
    public enum Phase { TRAIN }

    /** What a waiting client is told. */
    public sealed interface Answer permits Answer.TaskReady, Answer.EvaluateReady, Answer.NoTask, Answer.Finished {
        /** Its task in this round is ready. */
        record TaskReady(long round) implements Answer {
        }

        /** Its EVALUATE task for the model of {@code round} is ready. */
        record EvaluateReady(long round) implements Answer {
        }

        record NoTask(String why) implements Answer {
        }

        record Finished() implements Answer {
        }
    }

    /** The machine's verdict on an upload step: allowed (with effects), or refused with a reason. */
    public record Admission(RejectReason refusal, String why, List<Effect> effects) {
        static Admission admitted(List<Effect> effects) {
            return new Admission(null, null, effects);
        }

        static Admission refused(RejectReason reason, String why) {
            return new Admission(reason, why, List.of());
        }

        public boolean allowed() {
            return refusal == null;
        }
    }

    /** An ended upload: whether its refusal should be recorded, and the effects. */
    public record Ended(boolean record, List<Effect> effects) {
    }
}
