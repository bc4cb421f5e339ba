package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import java.time.Instant;
import java.util.Set;

/** What the owner must do. */
public sealed interface Effect permits Effect.OpenRound, Effect.CloseRound, Effect.OpenEvaluation,
        Effect.CloseEvaluation, Effect.Answer, Effect.Supersede, Effect.WakeAt, Effect.Finished {
    /** Persist and announce a new round ({@code live}: how many eligible clients it was sampled from). */
    record OpenRound(RoundPlan plan, int live) implements Effect {
    }

    /**
     * Close the round: aggregate ({@code aggregate}: enough updates were accepted) or skip it; then report
     * {@link RoundMachine#roundClosed}. {@code settled}: every sampled client was heard from before the deadline.
     */
    record CloseRound(long round, Set<ClientId> accepted, int rejected, boolean settled, boolean aggregate)
            implements Effect {
    }

    /**
     * Persist and announce the evaluation of the model round {@code plan.round()} published: its nonce, its
     * sampled evaluators and deadline ({@code live}: how many eligible clients they were sampled from).
     */
    record OpenEvaluation(RoundPlan plan, int live) implements Effect {
    }

    /**
     * Close the evaluation of round {@code round}'s model: aggregate the {@code answered} clients' accepted
     * evaluations (none: the evaluation closes empty, {@code why} says why); then report
     * {@link RoundMachine#evaluationClosed}. {@code sampled}: how many were asked; {@code settled}: all answered
     * before the deadline.
     */
    record CloseEvaluation(long round, Set<ClientId> answered, int sampled, boolean settled, String why)
            implements Effect {
    }

    /** Give a waiting client its answer. */
    record Answer(long waitId, RoundMachine.Answer answer) implements Effect {
    }

    /** End an upload that a newer one of the same client replaced. */
    record Supersede(long uploadId) implements Effect {
    }

    /** Call {@link RoundMachine#tick} at (or soon after) this time. */
    record WakeAt(Instant at) implements Effect {
    }

    /** The federation ran its rounds. */
    record Finished(long rounds) implements Effect {
    }
}
