package io.pqfl.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.client.data.Examples;
import io.pqfl.client.data.IdxFiles;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.sim.attack.AttackPlan;
import io.pqfl.sim.data.Partitioner;
import io.pqfl.sim.fleet.VirtualFleet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Simulations as a virtual-client fleet: clients that exist as an id, a key and a partition until sampled, a few
 * shared connections, training on a pool of workers (processes, when more than one), dropouts, and failures that
 * are reported with the client and the reason rather than swallowed.
 */
class FleetSimulationTest {
    static Examples train;
    static Examples test;

    @TempDir
    Path dir;

    @BeforeAll
    static void data() throws Exception {
        train = IdxFiles.load(IdxFiles.DEBIAN_FASHION_MNIST, true);
        test = IdxFiles.load(IdxFiles.DEBIAN_FASHION_MNIST, false).range(0, 300);
    }

    static SimulationRunner.Spec spec(String arm, int clients, int rounds, int examples, Duration timeout,
                                      SimulationRunner.Scale scale) {
        return new SimulationRunner.Spec(arm, SigningPolicy.SIGNED, SignatureScheme.ML_DSA_44, clients, rounds,
                ModelCatalog.MLP, "fedavg", Map.of(), TrainingConfig.defaults(), Partitioner.Kind.IID, 0.5, examples, 3,
                SimulationRunner.Transport.TLS, AttackPlan.none(), timeout, null,
                io.pqfl.coordinator.aggregate.TrainingSchedule.CONSTANT, scale);
    }

    /** The CI's 1,000-client run: every sampled update signed by its own client and verified, on two worker processes. */
    @Test
    @Tag("scale")
    void aThousandVirtualClients_aHundredSampledEachRound_trainOnWorkerProcesses() throws Exception {
        SimulationRunner.Scale scale = new SimulationRunner.Scale(100, 2, VirtualFleet.Behaviour.UNIFORM,
                VirtualFleet.FailurePolicy.FAIL);
        SimulationRunner.Result r = SimulationRunner.run(spec("thousand", 1000, 2, 12, Duration.ofMinutes(3), scale),
                train, test, dir, line -> { });

        assertThat(r.rounds()).allSatisfy(round -> {
            assertThat(round.completed()).isTrue();
            assertThat(round.accepted()).isEqualTo(100);
        });
        assertThat(r.clients()).hasSize(200).allSatisfy(c -> {
            assertThat(c.accepted()).isTrue();
            assertThat(c.signatureBytes()).isEqualTo(2420); // ML-DSA-44: each update signed, by its own client
        });
        Set<String> sampled = new HashSet<>();
        r.clients().forEach(c -> sampled.add(c.client()));
        // Two seeded samples of 100 out of 1,000: different clients, drawn from the whole federation.
        assertThat(sampled).hasSizeGreaterThan(150);
        assertThat(sampled.stream().mapToInt(c -> Integer.parseInt(c.substring("client-".length()))).max().orElse(0))
                .isGreaterThan(500);
        assertThat(r.federated()).isNotNull();
        assertThat(r.federated().clients()).isEqualTo(100);
        assertThat(r.finalAccuracy()).isGreaterThan(r.initialAccuracy());
        SimulationRunner.FleetStats f = r.fleet();
        assertThat(f.workers()).isEqualTo(2);
        assertThat(f.jobs()).isEqualTo(300); // 2 x 100 fits and 100 evaluations: no client trained unsampled
        assertThat(f.peakWorkerRssBytes()).isPositive(); // the work ran in worker processes
        assertThat(f.cpuMillis()).isPositive().isLessThanOrEqualTo(f.computeMillis() + f.jobs());
        // 300 tasks; the fleet's model cache served most of them without the model's bytes (the first clients of
        // each round download the model, the rest name the copy the first verified).
        assertThat(f.tasks()).isGreaterThanOrEqualTo(300);
        assertThat(f.tasksHeld()).isGreaterThan(150);
        assertThat(f.failures()).isEmpty();
        // Only sampled clients ever joined: the trainers of both rounds, and the final evaluation's 100.
        assertThat(f.joined()).isBetween(sampled.size(), sampled.size() + 100).isLessThan(1000);
        assertThat(r.channel()).contains("X25519MLKEM768");
    }

    @Test
    void droppedOutClientsSendNothing_andTheRoundsGoOnWithTheOthers() throws Exception {
        VirtualFleet.Behaviour behaviour = new VirtualFleet.Behaviour(0.3, 2, 3);
        SimulationRunner.Scale scale = new SimulationRunner.Scale(10, 1, behaviour, VirtualFleet.FailurePolicy.FAIL);
        SimulationRunner.Result r = SimulationRunner.run(spec("dropout", 30, 3, 20, Duration.ofSeconds(8), scale), train, test,
                dir, line -> { });

        assertThat(r.fleet().dropouts()).isPositive();
        assertThat(r.fleet().failures()).isEmpty();
        // Every sampled client either delivered or dropped out; none that dropped out sent anything.
        assertThat(r.clients().size() + r.fleet().dropouts()).isEqualTo(30);
        assertThat(r.clients()).allSatisfy(c -> assertThat(behaviour.dropsOut(
                Integer.parseInt(c.client().substring("client-".length())), c.round())).isFalse());
        assertThat(r.rounds()).allSatisfy(round -> assertThat(round.completed()).isTrue());
        // The worker runs in this JVM: its jobs' CPU time is part of the JVM's, and no job ran on a core longer than
        // it took (each job's figures are whole milliseconds, rounded down).
        SimulationRunner.FleetStats f = r.fleet();
        assertThat(f.cpuMillis()).isPositive().isLessThanOrEqualTo(f.computeMillis() + f.jobs());
        assertThat(f.processCpuMillis()).isGreaterThanOrEqualTo(f.cpuMillis());
    }

    @Test
    void aWorkerProcessThatDies_endsTheRunWithTheClientAndTheReason_underTheFailPolicy() throws Exception {
        SimulationRunner.Scale scale = new SimulationRunner.Scale(0, 2, VirtualFleet.Behaviour.UNIFORM,
                VirtualFleet.FailurePolicy.FAIL);
        try (WorkerKiller killer = new WorkerKiller()) {
            assertThatThrownBy(() -> SimulationRunner.run(spec("killed", 6, 2, 20, Duration.ofSeconds(60), scale), train,
                    test, dir, line -> { }))
                    .isInstanceOf(VirtualFleet.FleetException.class)
                    .hasMessageMatching("(?s)client client-00\\d in round 1: training failed: worker \\d \\(pid \\d+\\) exited "
                            + "with code \\d+.*--on-client-failure fail.*");
            assertThat(killer.killed.get()).isTrue();
        }
    }

    @Test
    void aWorkerProcessThatDies_isReplaced_andTheRunGoesOnUnderTheContinuePolicy() throws Exception {
        SimulationRunner.Scale scale = new SimulationRunner.Scale(0, 2, VirtualFleet.Behaviour.UNIFORM,
                VirtualFleet.FailurePolicy.CONTINUE);
        SimulationRunner.Result r;
        try (WorkerKiller killer = new WorkerKiller()) {
            r = SimulationRunner.run(spec("replaced", 6, 2, 20, Duration.ofSeconds(15), scale), train, test, dir, line -> { });
            assertThat(killer.killed.get()).isTrue();
        }
        List<VirtualFleet.Failure> failures = r.fleet().failures();
        assertThat(failures).hasSize(1);
        assertThat(failures.get(0).what()).contains("exited with code");
        // The other clients' updates made both rounds; the failed client trained again in round 2 on a new worker.
        assertThat(r.rounds()).allSatisfy(round -> assertThat(round.completed()).isTrue());
        assertThat(r.clients().stream().filter(c -> c.round() == 2 && c.accepted())).hasSize(6);
    }

    /** Kills the first training worker process it sees, once. */
    static final class WorkerKiller implements AutoCloseable {
        final AtomicBoolean killed = new AtomicBoolean();
        private final Thread thread;

        WorkerKiller() {
            thread = new Thread(() -> {
                while (!killed.get() && !Thread.currentThread().isInterrupted()) {
                    ProcessHandle.current().children().filter(WorkerKiller::isWorker).findFirst()
                            .ifPresent(p -> killed.set(p.destroyForcibly()));
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "worker-killer");
            thread.setDaemon(true);
            thread.start();
        }

        static boolean isWorker(ProcessHandle p) {
            try {
                return java.nio.file.Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"),
                        java.nio.charset.StandardCharsets.ISO_8859_1).contains("TrainingWorkerMain");
            } catch (java.io.IOException e) {
                return false;
            }
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join(5_000);
        }
    }
}
