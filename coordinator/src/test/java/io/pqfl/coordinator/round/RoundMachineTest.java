package io.pqfl.coordinator.round;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.round.RoundMachine.Answer;
import io.pqfl.coordinator.round.Effect;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RoundNonce;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every transition of the round state machine, driven with explicit times: no sleeps, no threads, no I/O.
 */
class RoundMachineTest {
    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
    private static final ClientId A = new ClientId("a");
    private static final ClientId B = new ClientId("b");
    private static final ClientId C = new ClientId("c");

    private final Set<ClientId> enrolled = new HashSet<>(Set.of(A, B, C));
    private int nonces;

    private RoundMachine machine(int rounds, int minClients, int minUpdates, boolean closeOnRejection) {
        RoundMachine.Settings s = new RoundMachine.Settings(rounds, minClients, minUpdates, Duration.ofMinutes(10),
                Duration.ofSeconds(60), closeOnRejection, 3);
        // The sampler takes everyone eligible; the nonces count up so each round's is distinct.
        return new RoundMachine(s, (round, eligible) -> eligible, enrolled::contains, () -> {
            byte[] b = new byte[RoundNonce.BYTES];
            b[0] = (byte) ++nonces;
            return RoundNonce.of(b);
        });
    }

    private static <T extends Effect> List<T> of(List<Effect> effects, Class<T> type) {
        return effects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    @Test
    void roundOpens_whenEnoughEnrolledLiveClientsAreSeen_andSamplesThem() {
        RoundMachine m = machine(2, 2, 2, false);
        assertThat(m.clientSeen(A, at(0))).isEmpty();
        assertThat(m.stage()).isEqualTo(Stage.WAITING_FOR_CLIENTS);
        List<Effect> e = m.clientSeen(B, at(1));
        Effect.OpenRound open = of(e, Effect.OpenRound.class).get(0);
        assertThat(open.plan().round()).isEqualTo(1);
        assertThat(open.plan().sampled()).containsExactly(A, B);
        assertThat(open.plan().deadline()).isEqualTo(at(1).plus(Duration.ofMinutes(10)));
        assertThat(open.live()).isEqualTo(2);
        assertThat(of(e, Effect.WakeAt.class)).extracting(Effect.WakeAt::at).contains(open.plan().deadline());
        assertThat(m.stage()).isEqualTo(Stage.ROUND_OPEN);
    }

    @Test
    void heldRounds_openOnlyWhenReleased_oneAtATime_andBetweenRoundsOnly() {
        RoundMachine m = machine(2, 2, 2, false);
        m.holdRounds();
        assertThat(m.restore(0, null, Set.of(), at(0))).isEmpty();
        m.clientSeen(A, at(1));
        assertThat(m.clientSeen(B, at(2))).isEmpty(); // enough clients, but the parent has not released round 1
        assertThat(m.stage()).isEqualTo(Stage.WAITING_FOR_CLIENTS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.release(2, at(3)))
                .isInstanceOf(IllegalStateException.class);
        Effect.OpenRound open = of(m.release(1, at(3)), Effect.OpenRound.class).get(0);
        assertThat(open.plan().round()).isEqualTo(1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.release(2, at(4)))
                .isInstanceOf(IllegalStateException.class); // a round is open
        runRound(m, 1, 5);
        assertThat(of(m.roundClosed(1, at(6)), Effect.OpenRound.class)).isEmpty(); // round 2 waits for its release
        assertThat(m.stage()).isEqualTo(Stage.WAITING_FOR_CLIENTS);
        assertThat(of(m.tick(at(10)), Effect.OpenRound.class)).isEmpty();
        assertThat(of(m.release(2, at(11)), Effect.OpenRound.class)).hasSize(1);
    }

    @Test
    void clientsThatAreNotEnrolledOrNoLongerLive_doNotCount() {
        RoundMachine m = machine(1, 2, 2, false);
        enrolled.remove(B);
        m.clientSeen(A, at(0));
        assertThat(m.clientSeen(B, at(1))).isEmpty(); // B was revoked
        enrolled.add(C);
        // A was seen more than the 60 s liveness ago: C alone is not enough.
        assertThat(m.clientSeen(C, at(120))).isEmpty();
        assertThat(m.live(at(120))).containsExactly(C);
        assertThat(of(m.clientSeen(A, at(121)), Effect.OpenRound.class)).hasSize(1);
    }

    @Test
    void withARoster_roundsSampleItsEligibleClients_liveOrNot_andASampledClientFindsItsTaskWhenItJoins() {
        RoundMachine m = machine(2, 3, 2, false);
        ClientId stranger = new ClientId("d"); // on the roster, but not enrolled
        m.sampleFrom(List.of(C, stranger, B, A));
        List<Effect> e = m.restore(0, null, Set.of(), at(0)); // nobody has said Hello
        assertThat(of(e, Effect.OpenRound.class)).singleElement().satisfies(open -> {
            assertThat(open.plan().sampled()).containsExactly(A, B, C);
            assertThat(open.live()).isEqualTo(3);
        });
        assertThat(m.live(at(0))).isEmpty();
        // A joins later and asks: its task is waiting; the round closes when all three delivered.
        m.clientSeen(A, at(5));
        assertThat(of(m.taskRequested(1, A, at(5), at(35)), Effect.Answer.class)).extracting(Effect.Answer::answer)
                .containsExactly(new Answer.TaskReady(1));
        assertThat(m.uploadBegun(9, stranger, 1).allowed()).isFalse();
        enrolled.remove(C); // revoked before round 2: not sampled again
        for (ClientId c : List.of(A, B, C)) {
            m.clientSeen(c, at(6));
            assertThat(m.uploadBegun(c.value().charAt(0), c, 1).allowed()).isTrue();
            assertThat(m.updateVerified(c.value().charAt(0), c, 1).allowed()).isTrue();
            m.updateRecorded(c, 1, at(6));
        }
        assertThat(m.stage()).isEqualTo(Stage.AGGREGATING);
        // Round 2 needs 3 eligible clients: only A and B are left on the roster, so it does not open.
        assertThat(of(m.roundClosed(1, at(7)), Effect.OpenRound.class)).isEmpty();
        enrolled.add(C);
        assertThat(of(m.tick(at(8)), Effect.OpenRound.class)).singleElement()
                .satisfies(open -> assertThat(open.plan().sampled()).containsExactly(A, B, C));
    }

    @Test
    void taskRequests_areAnsweredReady_waiting_orWithWhyNot() {
        RoundMachine m = machine(1, 2, 2, false);
        // Unknown client: waits, and at expiry is told to say Hello.
        List<Effect> e = m.taskRequested(1, C, at(0), at(30));
        assertThat(of(e, Effect.Answer.class)).isEmpty();
        assertThat(of(e, Effect.WakeAt.class)).extracting(Effect.WakeAt::at).containsExactly(at(30));
        assertThat(m.pendingWaits()).isEqualTo(1);
        m.clientSeen(A, at(1));
        e = m.taskRequested(2, A, at(2), at(32)); // known, but no round yet: waits
        assertThat(of(e, Effect.Answer.class)).isEmpty();
        // B arrives: the round opens and A's wait is answered at once.
        e = m.clientSeen(B, at(3));
        assertThat(of(e, Effect.Answer.class)).singleElement().satisfies(a -> {
            assertThat(a.waitId()).isEqualTo(2);
            assertThat(a.answer()).isEqualTo(new Answer.TaskReady(1));
        });
        e = m.tick(at(31));
        assertThat(of(e, Effect.Answer.class)).singleElement()
                .isEqualTo(new Effect.Answer(1, new Answer.NoTask("say Hello first")));
        // A sampled client asking again gets its task at once; a cancelled wait is forgotten.
        assertThat(of(m.taskRequested(3, B, at(40), at(70)), Effect.Answer.class)).singleElement()
                .isEqualTo(new Effect.Answer(3, new Answer.TaskReady(1)));
        m.taskRequested(4, C, at(41), at(71));
        m.waitCancelled(4);
        assertThat(m.pendingWaits()).isZero();
    }

    @Test
    void uploads_areRefusedWithTheirReason_andANewerOneSupersedesTheOlder() {
        RoundMachine m = machine(1, 2, 2, false);
        assertThat(m.uploadBegun(1, A, 1).refusal()).isEqualTo(RejectReason.NO_OPEN_ROUND);
        enrolled.remove(C);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        enrolled.add(C);
        assertThat(m.uploadBegun(1, A, 2).refusal()).isEqualTo(RejectReason.STALE_ROUND);
        assertThat(m.uploadBegun(1, C, 1).refusal()).isEqualTo(RejectReason.NOT_SAMPLED);
        assertThat(m.uploadBegun(1, A, 1).allowed()).isTrue();
        RoundMachine.Admission second = m.uploadBegun(2, A, 1);
        assertThat(second.effects()).containsExactly(new Effect.Supersede(1));
        // The superseded upload may not be recorded; the newer one may, once.
        assertThat(m.updateVerified(1, A, 1).refusal()).isEqualTo(RejectReason.INCOMPLETE);
        assertThat(m.updateVerified(2, A, 1).allowed()).isTrue();
        assertThat(m.uploadBegun(3, A, 1).refusal()).isEqualTo(RejectReason.BUSY); // being recorded: come back
        m.updateRecorded(A, 1, at(5));
        assertThat(m.uploadBegun(4, A, 1).refusal()).isEqualTo(RejectReason.DUPLICATE);
    }

    @Test
    void aClientRefusedTooOften_isRefusedUpFront_andOnlyItsFirstRefusalsAreWorthRecording() {
        RoundMachine m = machine(1, 2, 2, false);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        for (int i = 1; i <= 3; i++) {
            assertThat(m.uploadBegun(i, A, 1).allowed()).isTrue();
            assertThat(m.uploadEnded(i, A, 1, RejectReason.NONCE_MISMATCH, at(i)).record()).isTrue();
        }
        assertThat(m.uploadEnded(9, A, 1, RejectReason.MALFORMED, at(5)).record()).isFalse();
        assertThat(m.uploadBegun(10, A, 1).refusal()).isEqualTo(RejectReason.REJECTION_LIMIT);
        assertThat(m.uploadBegun(11, B, 1).allowed()).isTrue();
    }

    @Test
    void everySampledUpdateRecorded_closesTheRoundEarly_toAggregate() {
        RoundMachine m = machine(2, 2, 2, false);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        assertThat(of(m.updateRecorded(A, 1, at(10)), Effect.CloseRound.class)).isEmpty();
        m.uploadBegun(2, B, 1);
        m.updateVerified(2, B, 1);
        List<Effect> e = m.updateRecorded(B, 1, at(11));
        assertThat(of(e, Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(1, Set.of(A, B), 0, true, true));
        assertThat(m.stage()).isEqualTo(Stage.AGGREGATING);
        // While aggregating, nobody gets a task and no upload starts.
        assertThat(m.uploadBegun(3, A, 1).refusal()).isEqualTo(RejectReason.NO_OPEN_ROUND);
        assertThat(of(m.taskRequested(5, A, at(12), at(40)), Effect.Answer.class)).isEmpty();
        // Closed: the next round opens with the clients still live, and the waiting client gets its task.
        e = m.roundClosed(1, at(13));
        assertThat(of(e, Effect.OpenRound.class)).singleElement().satisfies(o -> assertThat(o.plan().round()).isEqualTo(2));
        assertThat(of(e, Effect.Answer.class)).singleElement().isEqualTo(new Effect.Answer(5, new Answer.TaskReady(2)));
        assertThat(m.lastClosed()).isEqualTo(1);
    }

    @Test
    void deadline_closesTheRound_aggregatingOnlyWithEnoughUpdates() {
        RoundMachine m = machine(3, 2, 2, false);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        m.updateRecorded(A, 1, at(10));
        assertThat(of(m.tick(at(599)), Effect.CloseRound.class)).isEmpty();
        assertThat(of(m.tick(at(600)), Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(1, Set.of(A), 0, false, false));
    }

    @Test
    void anUpdateBeingRecorded_holdsTheCloseUntilItIsRecordedOrFails() {
        RoundMachine m = machine(1, 2, 1, false);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        assertThat(of(m.tick(at(600)), Effect.CloseRound.class)).isEmpty(); // deadline passed, A still recording
        // Recording failed: A counts as refused (INCOMPLETE), and the round closes without it.
        RoundMachine.Ended ended = m.uploadEnded(1, A, 1, null, at(601));
        assertThat(of(ended.effects(), Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(1, Set.of(), 1, false, false));
    }

    /**
     * A's update is being recorded when A's retry arrives (its answer was slow): the retry is told BUSY, and a refusal
     * of another header of A (upload id -1) does not end the recording, so the update still counts once recorded and
     * the round does not close under it.
     */
    @Test
    void aRetryWhileTheUpdateIsBeingRecorded_isToldBusy_andARefusedHeaderDoesNotEndTheRecording() {
        RoundMachine m = machine(1, 2, 1, false);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        RoundMachine.Admission retry = m.uploadBegun(2, A, 1);
        assertThat(retry.allowed()).isFalse();
        assertThat(retry.refusal()).isEqualTo(RejectReason.BUSY);
        assertThat(m.delivered(A, 1)).isTrue();
        assertThat(m.delivered(B, 1)).isFalse();
        assertThat(m.delivered(A, 2)).isFalse();
        // A header of A refused elsewhere (a replay: NONCE_MISMATCH) while its update is being recorded.
        assertThat(of(m.uploadEnded(-1, A, 1, RejectReason.NONCE_MISMATCH, at(1)).effects(), Effect.CloseRound.class))
                .isEmpty();
        assertThat(of(m.tick(at(600)), Effect.CloseRound.class)).isEmpty(); // deadline passed: A is still recording
        assertThat(of(m.updateRecorded(A, 1, at(601)), Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(1, Set.of(A), 1, false, true));
    }

    @Test
    void withCloseOnRejection_refusedClientsSettleTheRound_butALostStreamDoesNot() {
        RoundMachine m = machine(1, 2, 1, true);
        m.clientSeen(A, at(0));
        m.clientSeen(B, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        m.updateRecorded(A, 1, at(1));
        m.uploadBegun(2, B, 1);
        assertThat(of(m.uploadEnded(2, B, 1, RejectReason.INCOMPLETE, at(2)).effects(), Effect.CloseRound.class)).isEmpty();
        assertThat(of(m.taskRequested(7, B, at(3), at(30)), Effect.Answer.class)).singleElement()
                .isEqualTo(new Effect.Answer(7, new Answer.TaskReady(1))); // may retry
        m.uploadBegun(3, B, 1);
        List<Effect> e = m.uploadEnded(3, B, 1, RejectReason.BAD_SIGNATURE, at(4)).effects();
        assertThat(of(e, Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(1, Set.of(A), 2, true, true));
    }

    @Test
    void afterTheLastRound_theFederationFinishes_andWaitsAreToldSo() {
        RoundMachine m = machine(1, 1, 1, false);
        m.clientSeen(A, at(0));
        m.uploadBegun(1, A, 1);
        m.updateVerified(1, A, 1);
        m.updateRecorded(A, 1, at(1));
        m.taskRequested(9, B, at(2), at(30));
        List<Effect> e = m.roundClosed(1, at(3));
        assertThat(m.stage()).isEqualTo(Stage.FINISHED);
        assertThat(of(e, Effect.Finished.class)).singleElement().isEqualTo(new Effect.Finished(1));
        assertThat(of(e, Effect.Answer.class)).singleElement().isEqualTo(new Effect.Answer(9, new Answer.Finished()));
        assertThat(of(m.taskRequested(10, A, at(4), at(30)), Effect.Answer.class)).singleElement()
                .isEqualTo(new Effect.Answer(10, new Answer.Finished()));
    }

    @Test
    void restart_resumesTheOpenRoundWithItsNonceAndAcceptedUpdates() {
        RoundMachine m = machine(3, 2, 2, false);
        byte[] n = new byte[RoundNonce.BYTES];
        n[5] = 42;
        RoundPlan plan = new RoundPlan(2, RoundNonce.of(n), List.of(A, B), at(300));
        List<Effect> e = m.restore(1, plan, Set.of(A), at(10));
        assertThat(m.stage()).isEqualTo(Stage.ROUND_OPEN);
        assertThat(m.currentRound()).isEqualTo(2);
        assertThat(m.openRound()).contains(plan);
        assertThat(of(e, Effect.OpenRound.class)).isEmpty(); // resumed, not opened anew
        assertThat(m.uploadBegun(1, A, 2).refusal()).isEqualTo(RejectReason.DUPLICATE);
        m.uploadBegun(2, B, 2);
        m.updateVerified(2, B, 2);
        assertThat(of(m.updateRecorded(B, 2, at(20)), Effect.CloseRound.class)).singleElement()
                .isEqualTo(new Effect.CloseRound(2, Set.of(A, B), 0, true, true));
    }

    @Test
    void restart_afterTheLastRound_isFinished() {
        RoundMachine m = machine(3, 2, 2, false);
        m.restore(3, null, Set.of(), at(0));
        assertThat(m.stage()).isEqualTo(Stage.FINISHED);
    }

    @Test
    void stop_answersEveryWaitAndStartsNothing() {
        RoundMachine m = machine(1, 2, 2, false);
        m.clientSeen(A, at(0));
        m.taskRequested(1, A, at(0), at(30));
        List<Effect> e = m.stop(at(1));
        assertThat(e).containsExactly(new Effect.Answer(1, new Answer.NoTask("no round is open")));
        assertThat(m.clientSeen(B, at(2))).isEmpty();
    }

    @Test
    void theStrategysSampler_choosesTheRoundsClients() {
        List<Long> asked = new ArrayList<>();
        RoundMachine m = new RoundMachine(new RoundMachine.Settings(1, 2, 1, Duration.ofMinutes(1), Duration.ofMinutes(1),
                false, 3), (round, eligible) -> {
                    asked.add(round);
                    return List.of(eligible.get(eligible.size() - 1));
                }, c -> true, () -> RoundNonce.of(new byte[RoundNonce.BYTES]));
        m.clientSeen(A, at(0));
        Effect.OpenRound open = of(m.clientSeen(B, at(0)), Effect.OpenRound.class).get(0);
        assertThat(asked).containsExactly(1L);
        assertThat(open.plan().sampled()).containsExactly(B);
        assertThat(m.uploadBegun(1, A, 1).refusal()).isEqualTo(RejectReason.NOT_SAMPLED);
    }

    // ------------------------------------------------------------------ federated evaluation

    private RoundMachine evaluating(int rounds, int every, boolean afterLast, int minEvaluators) {
        RoundMachine.Settings s = new RoundMachine.Settings(rounds, 2, 1, Duration.ofMinutes(10), Duration.ofSeconds(60),
                false, 3);
        RoundMachine.EvaluationSettings ev = new RoundMachine.EvaluationSettings(every, afterLast, minEvaluators,
                Duration.ofMinutes(5));
        return new RoundMachine(s, ev, (round, eligible) -> eligible,
                (round, eligible) -> eligible.subList(0, Math.min(2, eligible.size())), enrolled::contains, () -> {
                    byte[] b = new byte[RoundNonce.BYTES];
                    b[0] = (byte) ++nonces;
                    return RoundNonce.of(b);
                });
    }

    /** Opens round {@code n} with (at least) a and b live and has every sampled client deliver. */
    private static void runRound(RoundMachine m, long n, long t) {
        m.clientSeen(A, at(t));
        m.clientSeen(B, at(t));
        assertThat(m.stage()).isEqualTo(Stage.ROUND_OPEN);
        for (ClientId c : m.openRound().orElseThrow().sampled()) {
            assertThat(m.uploadBegun(n * 10 + c.value().charAt(0), c, n).allowed()).isTrue();
            assertThat(m.updateVerified(n * 10 + c.value().charAt(0), c, n).allowed()).isTrue();
            m.updateRecorded(c, n, at(t));
        }
        assertThat(m.stage()).isEqualTo(Stage.AGGREGATING);
    }

    @Test
    void evaluation_opensAfterEveryNthRoundAndAfterTheLast_withItsOwnNonce_andClosesWhenAllAnswered() {
        RoundMachine m = evaluating(3, 2, true, 1);
        m.clientSeen(C, at(0));
        runRound(m, 1, 0);
        m.roundClosed(1, at(1)); // 1 % 2 != 0: no evaluation, round 2 opens at once
        assertThat(m.stage()).isEqualTo(Stage.ROUND_OPEN);
        runRound(m, 2, 2);
        List<Effect> e = m.roundClosed(2, at(3));
        assertThat(m.stage()).isEqualTo(Stage.EVALUATING);
        Effect.OpenEvaluation open = of(e, Effect.OpenEvaluation.class).get(0);
        assertThat(open.plan().round()).isEqualTo(2);
        assertThat(open.plan().sampled()).containsExactly(A, B); // the evaluation sampler took two of three
        assertThat(open.live()).isEqualTo(3);
        assertThat(open.plan().deadline()).isEqualTo(at(3).plus(Duration.ofMinutes(5)));
        assertThat(open.plan().nonce()).isNotEqualTo(m.openRound().map(RoundPlan::nonce).orElse(null));
        // The evaluators get EVALUATE tasks; the third client gets nothing; no training round opens meanwhile.
        assertThat(of(m.taskRequested(1, A, at(4), at(30)), Effect.Answer.class)).extracting(Effect.Answer::answer)
                .containsExactly(new Answer.EvaluateReady(2));
        assertThat(of(m.taskRequested(2, C, at(4), at(4)), Effect.Answer.class).get(0).answer())
                .isInstanceOf(Answer.NoTask.class);
        assertThat(m.uploadBegun(99, A, 3).refusal()).isEqualTo(RejectReason.NO_OPEN_ROUND);
        assertThat(m.evaluationBegun(A, 2).allowed()).isTrue();
        assertThat(m.evaluationReceived(A, 2, at(5))).noneMatch(x -> x instanceof Effect.CloseEvaluation);
        assertThat(m.evaluationBegun(B, 2).allowed()).isTrue();
        List<Effect> closing = m.evaluationReceived(B, 2, at(6));
        Effect.CloseEvaluation close = of(closing, Effect.CloseEvaluation.class).get(0);
        assertThat(close.round()).isEqualTo(2);
        assertThat(close.answered()).containsExactlyInAnyOrder(A, B);
        assertThat(close.settled()).isTrue();
        assertThat(close.why()).isNull();
        // Round 3 opens only once the evaluation is closed.
        assertThat(m.stage()).isEqualTo(Stage.EVALUATING);
        assertThat(of(m.evaluationClosed(2, at(7)), Effect.OpenRound.class)).hasSize(1);
        assertThat(m.lastEvaluated()).isEqualTo(2);
        runRound(m, 3, 8);
        assertThat(m.roundClosed(3, at(9))).noneMatch(x -> x instanceof Effect.Finished);
        assertThat(m.stage()).isEqualTo(Stage.EVALUATING); // after the last round
        m.evaluationBegun(A, 3);
        m.evaluationReceived(A, 3, at(10));
        m.evaluationBegun(B, 3);
        m.evaluationReceived(B, 3, at(10));
        assertThat(of(m.evaluationClosed(3, at(11)), Effect.Finished.class)).hasSize(1);
        assertThat(m.stage()).isEqualTo(Stage.FINISHED);
    }

    @Test
    void evaluation_refusesStaleNotSampledDuplicateAndOutOfPhaseSubmissions() {
        RoundMachine m = evaluating(1, 0, true, 1);
        m.clientSeen(C, at(0));
        assertThat(m.evaluationBegun(A, 1).refusal()).isEqualTo(RejectReason.NO_OPEN_ROUND); // a round is open, not an evaluation
        runRound(m, 1, 0);
        m.roundClosed(1, at(1));
        assertThat(m.evaluationBegun(A, 0).refusal()).isEqualTo(RejectReason.STALE_ROUND);
        assertThat(m.evaluationBegun(C, 1).refusal()).isEqualTo(RejectReason.NOT_SAMPLED);
        assertThat(m.evaluationBegun(A, 1).allowed()).isTrue();
        assertThat(m.evaluationBegun(A, 1).refusal()).isEqualTo(RejectReason.DUPLICATE); // being recorded
        // That refusal (before admission) leaves the first submission being recorded.
        assertThat(m.evaluationRefused(A, 1, RejectReason.DUPLICATE, false, at(2)).effects())
                .noneMatch(x -> x instanceof Effect.CloseEvaluation);
        assertThat(m.evaluationBegun(A, 1).refusal()).isEqualTo(RejectReason.DUPLICATE);
        m.evaluationReceived(A, 1, at(2));
        assertThat(m.evaluationBegun(A, 1).refusal()).isEqualTo(RejectReason.DUPLICATE); // answered
        // A refused evaluation does not settle B: it may try again, up to the refusal limit (3 here).
        for (int i = 0; i < 3; i++) {
            assertThat(m.evaluationBegun(B, 1).allowed()).isTrue();
            RoundMachine.Ended ended = m.evaluationRefused(B, 1, RejectReason.BAD_SIGNATURE, true, at(3));
            assertThat(ended.record()).isTrue();
            assertThat(ended.effects()).noneMatch(x -> x instanceof Effect.CloseEvaluation);
        }
        assertThat(m.evaluationBegun(B, 1).refusal()).isEqualTo(RejectReason.REJECTION_LIMIT);
    }

    @Test
    void evaluation_closesAtTheDeadline_withWhoAnswered_andTheRunFinishes() {
        RoundMachine m = evaluating(1, 0, true, 1);
        runRound(m, 1, 0);
        List<Effect> opened = m.roundClosed(1, at(1));
        assertThat(of(opened, Effect.WakeAt.class)).extracting(Effect.WakeAt::at).contains(at(1).plus(Duration.ofMinutes(5)));
        m.evaluationBegun(A, 1);
        m.evaluationReceived(A, 1, at(2));
        assertThat(m.tick(at(200))).noneMatch(x -> x instanceof Effect.CloseEvaluation);
        // B is still being recorded at the deadline: the close waits for it.
        m.evaluationBegun(B, 1);
        assertThat(m.tick(at(301))).noneMatch(x -> x instanceof Effect.CloseEvaluation);
        List<Effect> late = m.evaluationRefused(B, 1, RejectReason.NONCE_MISMATCH, true, at(302)).effects();
        Effect.CloseEvaluation close = of(late, Effect.CloseEvaluation.class).get(0);
        assertThat(close.answered()).containsExactly(A);
        assertThat(close.settled()).isFalse();
        assertThat(close.sampled()).isEqualTo(2);
        // Nothing is admitted once the close is under way.
        assertThat(m.evaluationBegun(B, 1).refusal()).isEqualTo(RejectReason.NO_OPEN_ROUND);
        assertThat(of(m.evaluationClosed(1, at(303)), Effect.Finished.class)).hasSize(1);
    }

    @Test
    void evaluation_withNoEligibleEvaluators_closesEmptyAtTheDeadline_sayingWhy_andTheRunStillFinishes() {
        RoundMachine m = evaluating(1, 0, true, 3);
        runRound(m, 1, 0); // only a and b are live: 3 evaluators are needed
        List<Effect> e = m.roundClosed(1, at(1));
        assertThat(of(e, Effect.OpenEvaluation.class)).isEmpty();
        assertThat(m.stage()).isEqualTo(Stage.EVALUATING);
        assertThat(of(m.taskRequested(1, A, at(2), at(2)), Effect.Answer.class).get(0).answer())
                .isInstanceOf(Answer.NoTask.class);
        Effect.CloseEvaluation close = of(m.tick(at(1).plus(Duration.ofMinutes(5))), Effect.CloseEvaluation.class).get(0);
        assertThat(close.answered()).isEmpty();
        assertThat(close.why()).contains("fewer than 3 eligible live clients");
        assertThat(of(m.evaluationClosed(1, at(400)), Effect.Finished.class)).hasSize(1);
    }

    @Test
    void evaluation_samplesLate_whenEnoughEvaluatorsShowUpBeforeTheDeadline() {
        RoundMachine m = evaluating(1, 0, true, 3);
        runRound(m, 1, 0);
        m.roundClosed(1, at(1));
        List<Effect> e = m.clientSeen(C, at(10));
        assertThat(of(e, Effect.OpenEvaluation.class)).singleElement()
                .satisfies(o -> assertThat(o.plan().deadline()).isEqualTo(at(1).plus(Duration.ofMinutes(5))));
    }

    @Test
    void evaluation_isSkipped_forASkippedRoundsOlderModel_alreadyEvaluated_orTheInitialModel() {
        RoundMachine m = evaluating(3, 1, true, 1);
        runRound(m, 1, 0);
        // Round 1 was skipped: the model is still the initial one, which is never evaluated.
        m.roundClosed(1, 0, at(1));
        assertThat(m.stage()).isEqualTo(Stage.ROUND_OPEN);
        runRound(m, 2, 2);
        m.roundClosed(2, 2, at(3));
        assertThat(m.stage()).isEqualTo(Stage.EVALUATING);
        m.evaluationBegun(A, 2);
        m.evaluationReceived(A, 2, at(4));
        m.evaluationBegun(B, 2);
        m.evaluationReceived(B, 2, at(4));
        m.evaluationClosed(2, at(5));
        runRound(m, 3, 6);
        // Round 3 was skipped: the model is round 2's, already evaluated: the run finishes.
        assertThat(of(m.roundClosed(3, 2, at(7)), Effect.Finished.class)).hasSize(1);
    }
}
