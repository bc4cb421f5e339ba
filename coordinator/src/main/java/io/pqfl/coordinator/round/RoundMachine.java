package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The federation's rounds as a pure state machine: events in (a client seen, a task asked for, an upload begun,
 * an update verified or refused, time passing, a round closed, a restart), effects out ({@link Effect}: persist
 * this round, close that one, answer these waits, wake me then). No I/O, no protobuf, no locks, no clock of its
 * own: every event carries the time. Its owner ({@link FederationEngine}) serialises the calls and carries the
 * effects out.
 *
 * <p>The machine keeps the {@link Stage} and moves between stages; the rest of its state lives beside it, as pure
 * as the machine: the live clients and waiting task requests in {@link Presence}, the open round's in
 * {@link TrainingRound}, the evaluation's in {@link EvaluationStage}. A round goes through its {@link Phase}s in
 * order and closes after the last; today the one phase is {@link Phase#TRAIN}. Which clients are sampled, and with
 * what configuration, is the strategy's choice ({@link Sampler}).
 *
 * <p>Federated evaluation ({@link EvaluationSettings}): after a round closes whose number is a multiple of
 * {@code every}, or after the last round, the machine is {@link Stage#EVALUATING} the model that round published
 * ({@link #evaluationBegun}, {@link #evaluationReceived}, {@link #evaluationRefused}) until
 * {@link #evaluationClosed}, which opens the next round or finishes. No round is open meanwhile. An evaluation is
 * not resumed after a restart.
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
    }

    /** Chooses a round's clients among the eligible live ones (the strategy's sampling). */
    @FunctionalInterface
    public interface Sampler {
        List<ClientId> sample(long round, List<ClientId> eligible);
    }

    private final Settings settings;
    private final Sampler sampler;
    private final Predicate<ClientId> enrolled;
    private final Supplier<RoundNonce> nonces;
    private final Presence clients;
    private Stage stage = Stage.WAITING_FOR_CLIENTS;
    private long lastClosed;
    private TrainingRound open;
    private final EvaluationStage evaluation; // open exactly while the stage is EVALUATING
    private boolean stopped;
    /** Rounds up to this one may open; {@link #holdRounds} makes it 0, {@link #release} raises it. */
    private long releasedThrough = Long.MAX_VALUE;
    /** When not empty, rounds and evaluations sample among these clients (if eligible), live or not. */
    private List<ClientId> roster = List.of();
    /**
     * What a waiting client may be told depends on the stage, the open round and the open evaluation (these change
     * a few times a round: every wait is asked about again then) and on the client's own part in them (only waits
     * of the clients an event concerns are asked about again). The last state every wait was asked about in, and
     * the clients events concerned since.
     */
    private List<Object> answeredIn = List.of();
    private final Set<ClientId> touched = new HashSet<>();

    /** A machine without federated evaluation. */
    public RoundMachine(Settings settings, Sampler sampler, Predicate<ClientId> enrolled, Supplier<RoundNonce> nonces) {
        this(settings, EvaluationSettings.NONE, sampler, (round, eligible) -> eligible, enrolled, nonces);
    }

    /** {@code evaluators} chooses a model's evaluators among the eligible live clients. */
    public RoundMachine(Settings settings, EvaluationSettings evaluation, Sampler sampler, Sampler evaluators,
                        Predicate<ClientId> enrolled, Supplier<RoundNonce> nonces) {
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(evaluation, "evaluation");
        this.sampler = Objects.requireNonNull(sampler, "sampler");
        Objects.requireNonNull(evaluators, "evaluators");
        this.enrolled = Objects.requireNonNull(enrolled, "enrolled");
        this.nonces = Objects.requireNonNull(nonces, "nonces");
        this.clients = new Presence(settings.liveness());
        this.evaluation = new EvaluationStage(evaluation, evaluators, this::eligible, nonces,
                settings.maxRejectionsPerRound());
    }

    // ------------------------------------------------------------------ events

    /**
     * A restart: the store says {@code lastClosed} rounds are closed and, if {@code resumed} is not null, that
     * round is open with the same nonce, sampled clients and these already accepted updates. Replaying the
     * store into the machine is all a restart is.
     */
    public List<Effect> restore(long lastClosed, RoundPlan resumed, Set<ClientId> accepted, Instant now) {
        this.lastClosed = lastClosed;
        if (resumed != null) {
            open = new TrainingRound(resumed, accepted, settings);
            stage = Stage.ROUND_OPEN;
        }
        return advance(now);
    }

    /**
     * An aggregator's machine (before {@link #restore}): no round opens on its own; each waits for {@link #release}
     * (its parent's task), then for its clients as usual.
     */
    public void holdRounds() {
        releasedThrough = 0;
    }

    /**
     * Rounds and evaluations sample among {@code roster} (those of its clients that are eligible), whether they said
     * Hello yet or not, instead of among the live clients: a sampled client that joins later finds its task waiting.
     * For a federation whose clients are all known and reachable on demand (a simulation's virtual clients, silos);
     * a sampled client that never comes holds its round until the deadline. Call before {@link #restore}.
     */
    public void sampleFrom(List<ClientId> roster) {
        this.roster = roster.stream().sorted((a, b) -> a.value().compareTo(b.value())).toList();
    }

    /**
     * The parent released round {@code round} (its model was adopted as the round's base): it opens as soon as enough
     * clients are live. Only the next round may be released, and only between rounds.
     */
    public List<Effect> release(long round, Instant now) {
        if (stage != Stage.WAITING_FOR_CLIENTS || round != lastClosed + 1) {
            throw new IllegalStateException("round " + round + " cannot be released now: the machine is " + stage
                    + " after round " + lastClosed);
        }
        releasedThrough = round;
        return advance(now);
    }

    /** Whether round {@code lastClosed + 1} may open (always, unless {@link #holdRounds} holds it). */
    public boolean nextRoundReleased() {
        return lastClosed < releasedThrough;
    }

    /** An authenticated client showed itself (Hello, a task request, an upload): it is live. */
    public List<Effect> clientSeen(ClientId client, Instant now) {
        clients.seen(client, now);
        touched.add(client);
        return advance(now);
    }

    /**
     * A client asks for its task and may wait until {@code expires}. The answer comes as an
     * {@link Effect.Answer} now or later (when its task is ready, the run ends, or the wait runs out).
     */
    public List<Effect> taskRequested(long waitId, ClientId client, Instant now, Instant expires) {
        if (clients.known(client)) {
            clients.seen(client, now);
            touched.add(client);
        }
        List<Effect> effects = new ArrayList<>(advance(now));
        Answer answer = decide(client, !expires.isAfter(now));
        if (answer != null) {
            effects.add(new Effect.Answer(waitId, answer));
        } else {
            clients.await(waitId, client, expires);
            effects.add(new Effect.WakeAt(expires));
        }
        return effects;
    }

    /** The client went away: its wait is forgotten without an answer. */
    public void waitCancelled(long waitId) {
        clients.cancel(waitId);
    }

    /** Task requests waiting for an answer now. */
    public int pendingWaits() {
        return clients.waiting();
    }

    /**
     * A client begins an upload for {@code round}. Refused (the reason) when the round is not open for uploads,
     * the client already delivered, or it was refused too often this round; otherwise the upload is the
     * client's current one, and an older one still in progress is superseded ({@link Effect.Supersede}).
     */
    public Admission uploadBegun(long uploadId, ClientId client, long round) {
        if (open == null || stage != Stage.ROUND_OPEN || open.phase != Phase.TRAIN) {
            return Admission.refused(RejectReason.NO_OPEN_ROUND, "no round is open");
        }
        return open.uploadBegun(uploadId, client, round);
    }

    /**
     * An upload's update verified. It may be recorded only if it is still its client's current upload in the
     * open round and the client has not delivered: then the owner records it (spool, ledger, aggregate) and
     * reports back with {@link #updateRecorded} or {@link #uploadEnded}.
     */
    public Admission updateVerified(long uploadId, ClientId client, long round) {
        if (open == null || open.number != round || stage != Stage.ROUND_OPEN) {
            return Admission.refused(RejectReason.STALE_ROUND, "round " + round + " closed while the update was being received");
        }
        return open.updateVerified(uploadId, client);
    }

    /**
     * Secure aggregation left {@code clients} out of round {@code round} (they missed a phase of the protocol): the
     * round stops waiting for their updates and refuses any they still send.
     */
    public List<Effect> clientsExcused(long round, Set<ClientId> clients, Instant now) {
        if (open != null && open.number == round) {
            open.excuse(clients);
        }
        touched.addAll(clients);
        return advance(now);
    }

    /** A verified update was recorded and folded into the round's aggregate. */
    public List<Effect> updateRecorded(ClientId client, long round, Instant now) {
        touched.add(client);
        if (open != null && open.number == round) {
            open.updateRecorded(client);
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
        boolean record = open == null || open.number != round || open.uploadEnded(uploadId, client, reason);
        touched.add(client);
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
        if (evaluation.roundClosed(round, modelRound, settings.totalRounds(), now)) {
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
        return evaluation.begun(client, round);
    }

    /** An admitted evaluation verified and was recorded: the client answered. */
    public List<Effect> evaluationReceived(ClientId client, long round, Instant now) {
        evaluation.received(client, round);
        touched.add(client);
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
        boolean record = evaluation.refused(client, round, admitted);
        touched.add(client);
        return new Ended(record, advance(now));
    }

    /** The owner closed the evaluation the machine asked it to close ({@link Effect.CloseEvaluation}). */
    public List<Effect> evaluationClosed(long round, Instant now) {
        evaluation.closed(round);
        stage = Stage.WAITING_FOR_CLIENTS;
        return advance(now);
    }

    /** The coordinator is shutting down: every wait is answered now, nothing new starts. */
    public List<Effect> stop(Instant now) {
        stopped = true;
        return clients.answerAll(now, true, this::decide);
    }

    // ------------------------------------------------------------------ queries

    /** Whether {@code client} used up its refusals in the open round (its uploads are refused up front). */
    public boolean overRejectionLimit(ClientId client) {
        return open != null && open.overRejectionLimit(client);
    }

    /**
     * Whether {@code client}'s update for the open round {@code round} was accepted or is being recorded: its upload
     * is refused before it reserves any upload memory ({@link #uploadBegun} says how).
     */
    public boolean delivered(ClientId client, long round) {
        return open != null && open.number == round && open.delivered(client);
    }

    public Stage stage() {
        return stage;
    }

    public long lastClosed() {
        return lastClosed;
    }

    /** The round whose model is being evaluated, if an evaluation is open with its evaluators sampled. */
    public Optional<RoundPlan> openEvaluation() {
        return evaluation.plan();
    }

    /** The round of the newest model whose evaluation closed (0: none). */
    public long lastEvaluated() {
        return evaluation.lastEvaluated();
    }

    /** The open round's number, or the last closed one when none is open. */
    public long currentRound() {
        return open == null ? lastClosed : open.number;
    }

    /** The open round's plan, if one is open. */
    public Optional<RoundPlan> openRound() {
        return open == null ? Optional.empty() : Optional.of(open.plan());
    }

    /**
     * The waits {@link #decide} would answer at {@code now} but that are still waiting: none, unless an event's
     * answering overlooked one (what tests check after every event).
     */
    List<Long> overlookedWaits(Instant now) {
        return clients.pending().stream().filter(w -> decide(w.client(), !w.expires().isAfter(now)) != null)
                .map(Presence.Wait::id).toList();
    }

    /** Live clients: seen within the liveness window before {@code now}. */
    public List<ClientId> live(Instant now) {
        return clients.live(now);
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
            } else if (nextRoundReleased() // and enough clients known, without listing thousands per event if not
                    && (clients.known() >= settings.minClients() || !roster.isEmpty())) {
                List<ClientId> eligible = eligible(now);
                if (eligible.size() >= settings.minClients()) {
                    open = TrainingRound.open(lastClosed + 1, eligible, sampler, nonces, now, settings);
                    stage = Stage.ROUND_OPEN;
                    effects.add(new Effect.OpenRound(open.opened, eligible.size()));
                }
            }
        }
        if (stage == Stage.EVALUATING) {
            effects.addAll(evaluation.advance(now));
        }
        if (stage == Stage.ROUND_OPEN && open != null) {
            Effect next = open.closeOrWake(now);
            if (next instanceof Effect.CloseRound) {
                stage = Stage.AGGREGATING;
            }
            if (next != null) {
                effects.add(next);
            }
        }
        List<Object> state = List.of(stage, open == null ? 0L : open.number, evaluation.answerState());
        if (state.equals(answeredIn)) {
            effects.addAll(clients.answerExpiredAnd(touched, now, this::decide));
        } else {
            effects.addAll(clients.answerAll(now, false, this::decide));
            answeredIn = state;
        }
        touched.clear();
        return effects;
    }

    /** The clients that may take part (enrolled, not revoked): the live ones, or the roster's ({@link #sampleFrom}). */
    private List<ClientId> eligible(Instant now) {
        return (roster.isEmpty() ? live(now) : roster).stream().filter(enrolled).toList();
    }

    /** What a waiting client gets now, or null to keep waiting; {@code timedOut} forces an answer. */
    private Answer decide(ClientId client, boolean timedOut) {
        if (stage == Stage.FINISHED) {
            return new Answer.Finished();
        }
        TrainingRound o = open;
        if (o != null && stage == Stage.ROUND_OPEN && o.phase == Phase.TRAIN && o.owesUpdate(client)) {
            return new Answer.TaskReady(o.number);
        }
        Answer evaluate = evaluation.ready(client);
        if (evaluate != null) {
            return evaluate;
        }
        String evaluating = evaluation.noTaskReason();
        if (timedOut || stopped) {
            return new Answer.NoTask(!clients.known(client) ? "say Hello first"
                    : evaluating != null ? evaluating
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
