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
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The machine answers a waiting task request as soon as it has an answer, although an event asks only about the
 * waits it may concern (all of them only when the stage, the open round or the evaluation changes). Random runs —
 * clients coming and going, waits expiring and cancelled, uploads and evaluations accepted and refused, clients
 * excused (secure aggregation), open rounds restored, rounds held and released (aggregator tier), rosters, a stop
 * mid-run, rounds closed late — check after every event that no wait the machine could answer is still waiting and
 * none is answered twice; and the case of a client whose own state changes while it waits.
 */
class RoundMachineWaitsStressTest {
    private static final Instant T0 = Instant.parse("2026-12-07T08:00:00Z");
    private static final List<ClientId> CLIENTS = IntStream.range(0, 7).mapToObj(i -> new ClientId("c" + i)).toList();
    private static final RejectReason[] ENDINGS = {RejectReason.BAD_SIGNATURE, RejectReason.INCOMPLETE, null};

    private final Set<Long> pending = new LinkedHashSet<>();
    private final Set<Long> answered = new HashSet<>();
    private final Deque<long[]> uploads = new ArrayDeque<>();
    private final Deque<Effect> closes = new ArrayDeque<>();
    private final Deque<long[]> evaluations = new ArrayDeque<>();
    private RoundMachine machine;
    private Instant now = T0;
    private Instant told = T0;
    private boolean delayCloses;

    static List<Long> seeds() {
        return IntStream.rangeClosed(1, 600).mapToObj(i -> (long) i).toList();
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void noWaitOverlooked(long seed) {
        Random random = new Random(seed);
        delayCloses = random.nextBoolean();
        RoundMachine.Settings settings = new RoundMachine.Settings(5, 1 + random.nextInt(3), 1 + random.nextInt(2),
                Duration.ofSeconds(60 + random.nextInt(60)), Duration.ofSeconds(10 + random.nextInt(30)),
                random.nextBoolean(), 1 + random.nextInt(3));
        RoundMachine.EvaluationSettings evaluation = new RoundMachine.EvaluationSettings(random.nextInt(3),
                random.nextBoolean(), 1 + random.nextInt(3), Duration.ofSeconds(20 + random.nextInt(40)));
        Set<ClientId> enrolled = new HashSet<>(CLIENTS.subList(0, 6));
        int[] nonces = {0};
        machine = new RoundMachine(settings, evaluation,
                (round, eligible) -> sample(new Random(seed * 31 + round), eligible, 1 + random.nextInt(4)),
                (round, eligible) -> sample(new Random(seed * 37 + round), eligible, 1 + random.nextInt(3)),
                c -> enrolled.contains(c), () -> {
                    byte[] b = new byte[RoundNonce.BYTES];
                    b[0] = (byte) ++nonces[0];
                    b[1] = (byte) (nonces[0] >> 8);
                    return RoundNonce.of(b);
                });
        boolean held = random.nextInt(4) == 0;
        if (held) {
            machine.holdRounds();
        }
        if (random.nextInt(3) == 0) {
            machine.sampleFrom(CLIENTS.subList(0, 3 + random.nextInt(4)));
        }
        long lastClosed = random.nextInt(2);
        RoundPlan resumed = null;
        Set<ClientId> accepted = Set.of();
        if (!held && random.nextBoolean()) {
            List<ClientId> s = sample(random, CLIENTS.subList(0, 6), 1 + random.nextInt(4));
            byte[] b = new byte[RoundNonce.BYTES];
            b[2] = 9;
            resumed = new RoundPlan(lastClosed + 1, RoundNonce.of(b), s.stream()
                    .sorted((a, c) -> a.value().compareTo(c.value())).toList(), now.plusSeconds(50));
            accepted = random.nextBoolean() ? Set.of(s.get(0)) : Set.of();
        }
        handle(machine.restore(lastClosed, resumed, accepted, now));
        long ids = 0;
        int steps = 0;
        int stopAt = random.nextInt(5) == 0 ? random.nextInt(2000) : -1;
        while (machine.stage() != Stage.FINISHED && steps++ < 4_000) {
            if (steps == stopAt) {
                handle(machine.stop(now));
                assertThat(pending).isEmpty();
            }
            now = now.plusMillis(random.nextInt(4_000));
            ClientId c = CLIENTS.get(random.nextInt(CLIENTS.size()));
            int event = random.nextInt(12);
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
                case 3 -> machine.openRound().ifPresent(plan -> {
                    if (plan.sampled().isEmpty()) {
                        return;
                    }
                    ClientId s = plan.sampled().get(random.nextInt(plan.sampled().size()));
                    long upload = random.nextLong();
                    if (machine.uploadBegun(upload, s, plan.round()).allowed()) {
                        if (machine.updateVerified(upload, s, plan.round()).allowed()) {
                            uploads.add(new long[] {upload, CLIENTS.indexOf(s), plan.round()});
                        } else {
                            handle(machine.uploadEnded(upload, s, plan.round(), RejectReason.STALE_ROUND, now).effects());
                        }
                    }
                });
                case 4 -> {
                    long[] u = uploads.poll();
                    if (u != null) {
                        ClientId uc = CLIENTS.get((int) u[1]);
                        RejectReason ending = ENDINGS[random.nextInt(ENDINGS.length)];
                        handle(ending == null && random.nextBoolean() ? machine.updateRecorded(uc, u[2], now)
                                : machine.uploadEnded(u[0], uc, u[2], ending, now).effects());
                    }
                }
                case 5 -> machine.openEvaluation().ifPresent(plan -> {
                    if (plan.sampled().isEmpty()) {
                        return;
                    }
                    ClientId s = plan.sampled().get(random.nextInt(plan.sampled().size()));
                    if (machine.evaluationBegun(s, plan.round()).allowed()) {
                        evaluations.add(new long[] {CLIENTS.indexOf(s), plan.round()});
                    } else {
                        handle(machine.evaluationRefused(s, plan.round(), RejectReason.BAD_SIGNATURE, false, now).effects());
                    }
                });
                case 6 -> {
                    long[] u = evaluations.poll();
                    if (u != null) {
                        ClientId uc = CLIENTS.get((int) u[0]);
                        handle(random.nextBoolean() ? machine.evaluationReceived(uc, u[1], now)
                                : machine.evaluationRefused(uc, u[1], RejectReason.BAD_SIGNATURE, true, now).effects());
                    }
                }
                case 7 -> machine.openRound().ifPresent(plan -> { // secure aggregation excuses some
                    Set<ClientId> ex = new HashSet<>();
                    for (ClientId s : plan.sampled()) {
                        if (random.nextInt(3) == 0) {
                            ex.add(s);
                        }
                    }
                    if (random.nextInt(4) == 0) {
                        ex.add(c);
                    }
                    handle(machine.clientsExcused(random.nextInt(5) == 0 ? plan.round() + 1 : plan.round(), ex, now));
                });
                case 8 -> {
                    if (machine.stage() == Stage.WAITING_FOR_CLIENTS && !machine.nextRoundReleased()) {
                        handle(machine.release(machine.lastClosed() + 1, now));
                    }
                }
                case 9 -> {
                    Effect e = closes.poll();
                    if (e != null) {
                        doClose(e, random);
                    }
                }
                case 10 -> {
                    if (random.nextBoolean()) {
                        enrolled.remove(CLIENTS.get(random.nextInt(6)));
                    } else {
                        enrolled.add(CLIENTS.get(random.nextInt(6)));
                    }
                    handle(machine.tick(now));
                }
                default -> handle(machine.tick(now));
            }
            assertThat(machine.overlookedWaits(told)).as("seed %d step %d (event %d) at %s, stage %s", seed, steps, event,
                    now, machine.stage()).isEmpty();
            assertThat(machine.pendingWaits()).isEqualTo(pending.size());
        }
        handle(machine.stop(now));
        assertThat(pending).isEmpty();
        assertThat(machine.pendingWaits()).isZero();
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

    private void doClose(Effect e, Random random) {
        if (e instanceof Effect.CloseRound close) {
            handle(machine.roundClosed(close.round(), random.nextInt(3) == 0 ? Math.max(0, close.round() - 1) : close.round(), now));
        } else if (e instanceof Effect.CloseEvaluation close) {
            handle(machine.evaluationClosed(close.round(), now));
        }
    }

    private void handle(List<Effect> effects) {
        told = now;
        Deque<Effect> todo = new ArrayDeque<>(effects);
        while (!todo.isEmpty()) {
            Effect e = todo.poll();
            if (e instanceof Effect.Answer a) {
                assertThat(pending.remove(a.waitId())).as("wait %d answered while waiting", a.waitId()).isTrue();
                assertThat(answered.add(a.waitId())).isTrue();
            } else if (e instanceof Effect.CloseRound || e instanceof Effect.CloseEvaluation) {
                if (delayCloses) {
                    closes.add(e);
                } else if (e instanceof Effect.CloseRound close) {
                    todo.addAll(machine.roundClosed(close.round(), now));
                } else if (e instanceof Effect.CloseEvaluation close) {
                    todo.addAll(machine.evaluationClosed(close.round(), now));
                }
            }
        }
    }

    private static List<ClientId> sample(Random random, List<ClientId> eligible, int n) {
        List<ClientId> shuffled = new ArrayList<>(eligible);
        java.util.Collections.shuffle(shuffled, random);
        return List.copyOf(shuffled.subList(0, Math.min(n, shuffled.size())));
    }
}
