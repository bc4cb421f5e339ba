package io.pqfl.coordinator.round;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The machine answers a waiting task request as soon as it has an answer, although an event asks only about the
 * waits it may concern (all of them only when the stage, the open round or the evaluation changes): the case of a
 * client whose own state changes while it waits. {@link RoundMachineWaitsStressTest} drives random runs.
 */
class RoundMachineWaitsTest {
    private static final Instant T0 = Instant.parse("2026-12-07T08:00:00Z");
    private static final List<ClientId> CLIENTS = IntStream.range(0, 7).mapToObj(i -> new ClientId("c" + i)).toList();

    private final Set<Long> pending = new LinkedHashSet<>();
    private final Set<Long> answered = new HashSet<>();
    private RoundMachine machine;

    private Instant now = T0;

    @Test
    void anEvaluatorWaitingWhileItsEvaluationIsRefused_isToldToEvaluateAgain_atOnce() {
        ClientId a = CLIENTS.get(0);
        ClientId b = CLIENTS.get(1);
        machine = new RoundMachine(new RoundMachine.Settings(1, 2, 2, Duration.ofSeconds(90), Duration.ofSeconds(60),
                false, 3), new RoundMachine.EvaluationSettings(0, true, 1, Duration.ofSeconds(45)),
                (round, eligible) -> eligible, (round, eligible) -> eligible, c -> true,
                () -> RoundNonce.of(new byte[RoundNonce.BYTES]));
        handle(machine.clientSeen(a, now));
        handle(machine.clientSeen(b, now));
        for (ClientId c : List.of(a, b)) {
            assertThat(machine.uploadBegun(c.hashCode(), c, 1).allowed()).isTrue();
            assertThat(machine.updateVerified(c.hashCode(), c, 1).allowed()).isTrue();
            handle(machine.updateRecorded(c, 1, now));
        }
        assertThat(machine.openEvaluation()).isPresent();
        assertThat(machine.evaluationBegun(a, 1).allowed()).isTrue();
        pending.add(7L);
        handle(machine.taskRequested(7, a, now, now.plusSeconds(30))); // nothing to do while its evaluation records
        assertThat(pending).containsExactly(7L);
        handle(machine.evaluationRefused(a, 1, RejectReason.BAD_SIGNATURE, true, now).effects());
        assertThat(pending).as("the refused evaluator's wait is answered by the refusal").isEmpty();
        assertThat(answered).containsExactly(7L);
    }

    /** Carries the effects out as the engine would: closes what the machine asks to close, records answers. */
    private void handle(List<Effect> effects) {
        Deque<Effect> todo = new ArrayDeque<>(effects);
        while (!todo.isEmpty()) {
            Effect e = todo.poll();
            if (e instanceof Effect.Answer a) {
                assertThat(pending.remove(a.waitId())).as("wait %d answered while waiting", a.waitId()).isTrue();
                assertThat(answered.add(a.waitId())).isTrue();
            } else if (e instanceof Effect.CloseRound close) {
                todo.addAll(machine.roundClosed(close.round(), now));
            } else if (e instanceof Effect.CloseEvaluation close) {
                todo.addAll(machine.evaluationClosed(close.round(), now));
            }
        }
    }
}
