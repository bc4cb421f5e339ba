package io.pqfl.coordinator.round;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The machine answers a waiting task request as soon as it has an answer, although an event asks only about the
 * waits it may concern (all of them only when the stage, the open round or the evaluation changes). Random runs —
 * clients coming and going, waits expiring and cancelled, uploads accepted and refused, evaluations answered and
 * refused, rounds and evaluations closing — check after every event that no wait the machine could answer is left
 * waiting, and that no wait is answered twice or after it was cancelled.
 */
class RoundMachineWaitsTest {
    private static final Instant T0 = Instant.parse("2026-12-07T08:00:00Z");
    private static final List<ClientId> CLIENTS = IntStream.range(0, 7).mapToObj(i -> new ClientId("c" + i)).toList();
    private static final RejectReason[] ENDINGS = {RejectReason.BAD_SIGNATURE, RejectReason.INCOMPLETE, null};

    private final Set<Long> pending = new LinkedHashSet<>();
    private final Set<Long> answered = new HashSet<>();
    private final Deque<Upload> uploads = new ArrayDeque<>();
    private final Deque<Upload> evaluations = new ArrayDeque<>();
    private RoundMachine machine;

    private record Upload(long id, ClientId client, long round) {
    }
    private Instant now = T0;
    /** When the machine last heard of the time (waits that expired since are answered at its next event). */
    private Instant told = T0;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void noWaitIsOverlooked_noneAnsweredTwice(long seed) {
        Random random = new Random(seed);
        RoundMachine.Settings settings = new RoundMachine.Settings(6, 3, 2, Duration.ofSeconds(90),
                Duration.ofSeconds(20), random.nextBoolean(), 2);
        RoundMachine.EvaluationSettings evaluation = new RoundMachine.EvaluationSettings(2, true, 3,
                Duration.ofSeconds(45));
        Set<ClientId> enrolled = new HashSet<>(CLIENTS.subList(0, 6)); // c6 is never enrolled
        int[] nonces = {0};
        machine = new RoundMachine(settings, evaluation,
                (round, eligible) -> sample(new Random(seed * 31 + round), eligible, 4),
                (round, eligible) -> sample(new Random(seed * 37 + round), eligible, 2), enrolled::contains, () -> {
                    byte[] b = new byte[RoundNonce.BYTES];
                    b[0] = (byte) ++nonces[0];
                    return RoundNonce.of(b);
                });
        long ids = 0;
        int steps = 0;
        while (machine.stage() != Stage.FINISHED && steps++ < 5_000) {
            now = now.plusMillis(random.nextInt(4_000));
            ClientId c = CLIENTS.get(random.nextInt(CLIENTS.size()));
            int event = random.nextInt(8);
            switch (event) {
                case 0 -> handle(machine.clientSeen(c, now));
                case 1 -> {
                    long id = ++ids;
                    pending.add(id);
                    handle(machine.taskRequested(id, c, now, now.plusSeconds(random.nextInt(40))));
                }
                case 2 -> {
                    if (!pending.isEmpty()) {
                        long id = new ArrayList<>(pending).get(random.nextInt(pending.size()));
                        machine.waitCancelled(id);
                        pending.remove(id);
                    }
                }
                case 3 -> machine.openRound().ifPresent(plan -> { // an upload begins and verifies
                    ClientId s = plan.sampled().get(random.nextInt(plan.sampled().size()));
                    long upload = random.nextLong();
                    if (machine.uploadBegun(upload, s, plan.round()).allowed()) {
                        if (machine.updateVerified(upload, s, plan.round()).allowed()) {
                            uploads.add(new Upload(upload, s, plan.round()));
                        } else {
                            handle(machine.uploadEnded(upload, s, plan.round(), RejectReason.STALE_ROUND, now)
                                    .effects());
                        }
                    }
                });
                case 4 -> { // a verified upload is recorded, refused, or its stream goes away
                    Upload u = uploads.poll();
                    if (u != null) {
                        RejectReason ending = ENDINGS[random.nextInt(ENDINGS.length)];
                        handle(ending == null && random.nextBoolean() ? machine.updateRecorded(u.client(), u.round(), now)
                                : machine.uploadEnded(u.id(), u.client(), u.round(), ending, now).effects());
                    }
                }
                case 5 -> machine.openEvaluation().ifPresent(plan -> { // an evaluation begins
                    ClientId s = plan.sampled().get(random.nextInt(plan.sampled().size()));
                    if (machine.evaluationBegun(s, plan.round()).allowed()) {
                        evaluations.add(new Upload(0, s, plan.round()));
                    }
                });
                case 6 -> { // an evaluation is recorded or refused
                    Upload u = evaluations.poll();
                    if (u != null) {
                        handle(random.nextBoolean() ? machine.evaluationReceived(u.client(), u.round(), now)
                                : machine.evaluationRefused(u.client(), u.round(), RejectReason.BAD_SIGNATURE, true, now)
                                        .effects());
                    }
                }
                default -> handle(machine.tick(now));
            }
            assertThat(machine.overlookedWaits(told)).as("step %d (event %d) at %s, stage %s", steps, event, now, machine.stage())
                    .isEmpty();
            assertThat(machine.pendingWaits()).isEqualTo(pending.size());
        }
        assertThat(machine.stage()).as("the federation finished within the steps").isEqualTo(Stage.FINISHED);
        assertThat(answered).as("waits were answered along the way").hasSizeGreaterThan(10);
        handle(machine.stop(now));
        assertThat(pending).isEmpty();
    }

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
        told = now;
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

    private static List<ClientId> sample(Random random, List<ClientId> eligible, int n) {
        List<ClientId> shuffled = new ArrayList<>(eligible);
        java.util.Collections.shuffle(shuffled, random);
        return List.copyOf(shuffled.subList(0, Math.min(n, shuffled.size())));
    }
}
