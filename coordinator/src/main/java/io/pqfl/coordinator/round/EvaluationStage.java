package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The {@link Stage#EVALUATING} part of {@link RoundMachine}: the evaluation of a published model, from the close of
 * the round that published it to its own close. Pure like the machine it belongs to (no I/O, no locks, no clock:
 * every call carries the time), and driven only by it; the machine keeps the {@link Stage} and asks this class
 * whether an evaluation is open ({@link #active()}).
 *
 * <p>Once at least {@code minEvaluators} eligible clients are live it samples the evaluators
 * ({@link Effect.OpenEvaluation}), admits one evaluation per evaluator, and closes ({@link Effect.CloseEvaluation})
 * when all answered or at the deadline (with no evaluators at all, at the deadline).
 */
final class EvaluationStage {
    private final RoundMachine.EvaluationSettings settings;
    private final RoundMachine.Sampler evaluators;
    private final Function<Instant, List<ClientId>> eligible;
    private final Supplier<RoundNonce> nonces;
    private final int maxRejections;
    private Evaluation open;
    private long lastEvaluated;

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

        /** Evaluators sampled and not closing: evaluations may be handed out and admitted. */
        boolean accepting() {
            return sampled != null && !closing;
        }
    }

    /**
     * @param eligible the eligible live clients at an instant (the machine's view)
     * @param maxRejections refusals of one client per evaluation before it is refused up front
     */
    EvaluationStage(RoundMachine.EvaluationSettings settings, RoundMachine.Sampler evaluators,
                    Function<Instant, List<ClientId>> eligible, Supplier<RoundNonce> nonces, int maxRejections) {
        this.settings = settings;
        this.evaluators = evaluators;
        this.eligible = eligible;
        this.nonces = nonces;
        this.maxRejections = maxRejections;
    }

    /**
     * Round {@code round} closed and the global model is {@code modelRound}'s: opens its evaluation (true) if one is
     * due after this round and that model was not evaluated yet (and is not the initial model).
     */
    boolean roundClosed(long round, long modelRound, long totalRounds, Instant now) {
        boolean due = settings.every() > 0 && round % settings.every() == 0 || settings.afterLast() && round >= totalRounds;
        if (due && modelRound >= 1 && modelRound > lastEvaluated) {
            open = new Evaluation(modelRound, now.plus(settings.timeout()));
            return true;
        }
        return false;
    }

    /** Whether an evaluation is open (sampled or not, closing or not). */
    boolean active() {
        return open != null;
    }

    /** {@link RoundMachine#evaluationBegun}: admitted (being recorded), or refused with the reason. */
    RoundMachine.Admission begun(ClientId client, long round) {
        Evaluation e = open != null && open.accepting() ? open : null;
        if (e != null && e.rejections.getOrDefault(client, 0) >= maxRejections) {
            return RoundMachine.Admission.refused(RejectReason.REJECTION_LIMIT, "client " + client + " had "
                    + maxRejections + " evaluations refused for round " + e.round);
        }
        if (e == null) {
            return RoundMachine.Admission.refused(RejectReason.NO_OPEN_ROUND, "no evaluation is open");
        }
        if (round != e.round) {
            return RoundMachine.Admission.refused(RejectReason.STALE_ROUND, "evaluation is for round " + round
                    + ", the open evaluation is of round " + e.round + "'s model");
        }
        if (!e.sampled.contains(client)) {
            return RoundMachine.Admission.refused(RejectReason.NOT_SAMPLED, "client " + client
                    + " was not sampled to evaluate round " + e.round + "'s model");
        }
        if (e.answered.contains(client) || e.recording.contains(client)) {
            return RoundMachine.Admission.refused(RejectReason.DUPLICATE, "client " + client
                    + " already submitted its evaluation of round " + e.round + "'s model");
        }
        e.recording.add(client);
        return RoundMachine.Admission.admitted(List.of());
    }

    /** {@link RoundMachine#evaluationReceived}: the client answered. */
    void received(ClientId client, long round) {
        Evaluation e = open;
        if (e != null && e.round == round && e.recording.remove(client)) {
            e.answered.add(client);
        }
    }

    /** {@link RoundMachine#evaluationRefused}: counts the refusal; returns whether it is worth recording. */
    boolean refused(ClientId client, long round, boolean admitted) {
        Evaluation e = open;
        if (e == null) {
            return false;
        }
        if (admitted && e.round == round) {
            e.recording.remove(client);
        }
        return e.rejections.merge(client, 1, Integer::sum) <= maxRejections;
    }

    /** {@link RoundMachine#evaluationClosed}: the evaluation the stage asked to close is closed. */
    void closed(long round) {
        if (open == null || open.round != round || !open.closing) {
            throw new IllegalStateException("the evaluation of round " + round + " is not the one being closed");
        }
        lastEvaluated = round;
        open = null;
    }

    /** Samples the evaluators once enough are live; closes when all answered or at the deadline. */
    List<Effect> advance(Instant now) {
        Evaluation e = open;
        if (e == null || e.closing) {
            return List.of();
        }
        boolean late = !now.isBefore(e.deadline);
        if (e.sampled == null) {
            List<ClientId> candidates = eligible.apply(now);
            if (candidates.size() >= settings.minEvaluators()) {
                List<ClientId> chosen = evaluators.sample(e.round, candidates).stream()
                        .sorted((a, b) -> a.value().compareTo(b.value())).toList();
                e.sampled = new LinkedHashSet<>(chosen);
                e.nonce = nonces.get();
                return withWake(List.of(new Effect.OpenEvaluation(new RoundPlan(e.round, e.nonce, chosen, e.deadline),
                        candidates.size())), e, now);
            }
            if (late) {
                e.closing = true;
                e.sampled = Set.of();
                return List.of(new Effect.CloseEvaluation(e.round, Set.of(), 0, false, "fewer than "
                        + settings.minEvaluators() + " eligible live clients (" + candidates.size()
                        + ") before the evaluation deadline"));
            }
            return List.of(new Effect.WakeAt(e.deadline));
        }
        return withWake(List.of(), e, now);
    }

    private static List<Effect> withWake(List<Effect> before, Evaluation e, Instant now) {
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

    /** What a waiting {@code client} gets from the evaluation: its EVALUATE task if it is due one, else null. */
    RoundMachine.Answer ready(ClientId client) {
        Evaluation e = open;
        if (e != null && e.accepting() && e.sampled.contains(client) && !e.answered.contains(client)
                && !e.recording.contains(client)) {
            return new RoundMachine.Answer.EvaluateReady(e.round);
        }
        return null;
    }

    /**
     * Changes whenever {@link #ready} may change for clients the stage was not told about by name: an evaluation
     * opened, sampled its evaluators, began closing or closed.
     */
    List<Object> answerState() {
        Evaluation e = open;
        return e == null ? List.of() : List.of(e.round, e.accepting());
    }

    /** Why a client gets no task while an evaluation is open; null when none is. */
    String noTaskReason() {
        return open == null ? null : "not sampled to evaluate round " + open.round + "'s model";
    }

    /** The round whose model is being evaluated, if an evaluation is open with its evaluators sampled. */
    Optional<RoundPlan> plan() {
        Evaluation e = open;
        return e == null || e.sampled == null || e.nonce == null ? Optional.empty()
                : Optional.of(new RoundPlan(e.round, e.nonce, List.copyOf(e.sampled), e.deadline));
    }

    /** The round of the newest model whose evaluation closed (0: none). */
    long lastEvaluated() {
        return lastEvaluated;
    }
}
