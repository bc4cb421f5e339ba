package io.pqfl.sim.fleet;

import io.grpc.StatusRuntimeException;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.agent.PooledAgent;
import io.pqfl.coordinator.round.UpdateListener;
import io.pqfl.crypto.ClientId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The simulation's virtual clients on a few shared connections: each a {@link PooledAgent} (its own key, session,
 * task checks and signatures) that holds no thread while it waits. A client joins (Hello) the first time the
 * coordinator samples it ({@link Demand}) and long-polls from then on; a task is handled on a bounded pool of
 * handler threads, whose trainers run their jobs on the {@link TrainingPool}.
 *
 * <p>Heterogeneity ({@link Behaviour}): a sampled client may drop out of a round (it goes quiet until the round's
 * deadline, as a device that went offline), and clients differ in speed (a slow one's update leaves later: a
 * straggler). Failures are never swallowed: each is kept with the client, the round and the reason, printed, and
 * under {@link FailurePolicy#FAIL} ends the run with that reason.
 */
public final class VirtualFleet implements AutoCloseable {
    /** What a failed client does to the run. */
    public enum FailurePolicy {
        /** The first failure ends the run, with the client and the reason. */
        FAIL,
        /** Failures are reported and counted; the federation goes on without the client's update. */
        CONTINUE;

        public static FailurePolicy parse(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "fail" -> FAIL;
                case "continue" -> CONTINUE;
                default -> throw new IllegalArgumentException("unknown failure policy '" + value + "': use fail or continue");
            };
        }
    }

    /** One client's failure: the round (0 before any) and what went wrong. */
    public record Failure(String client, long round, String what) {
        @Override
        public String toString() {
            return client + (round > 0 ? " in round " + round : "") + ": " + what;
        }
    }

    /**
     * How the virtual clients differ, reproducibly from {@code seed}: {@code dropout} is the chance that a sampled
     * client drops out of a round; a client's slowdown is {@code 1 + speedSpread * u}, {@code u} uniform in [0, 1)
     * per client (0: all as fast as the workers).
     */
    public record Behaviour(double dropout, double speedSpread, long seed) {
        public Behaviour {
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
            }
            if (!(speedSpread >= 0) || Double.isInfinite(speedSpread)) {
                throw new IllegalArgumentException("speed spread must be >= 0, got " + speedSpread);
            }
        }

        public static final Behaviour UNIFORM = new Behaviour(0, 0, 0);

        public boolean dropsOut(int client, long round) {
            return dropout > 0 && new java.util.SplittableRandom(seed * 0x9E3779B97F4A7C15L + client * 1_000_003L + round)
                    .nextDouble() < dropout;
        }

        public double slowdown(int client) {
            return speedSpread == 0 ? 1 : 1 + speedSpread * new java.util.SplittableRandom(seed ^ (client * 0x2545F4914F6CDD1DL))
                    .nextDouble();
        }
    }

    /** Thrown by {@link #await} when the policy ends the run on a failure, or the fleet cannot go on. */
    public static final class FleetException extends Exception {
        private static final long serialVersionUID = 1L;

        FleetException(String message) {
            super(message);
        }
    }

    /** Coordinator reasons that mean "too late" (the round closed first): a straggler, not a failure. */
    private static final Set<String> LATE = Set.of("NO_OPEN_ROUND", "STALE_ROUND");

    private final List<PooledAgent> agents = new ArrayList<>();
    private final Duration pollWait;
    private final Behaviour behaviour;
    private final FailurePolicy policy;
    private final Consumer<String> progress;
    private final ExecutorService handlers;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-timer");
        t.setDaemon(true);
        return t;
    });
    private final List<Failure> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong dropouts = new AtomicLong();
    private final AtomicLong late = new AtomicLong();
    private final AtomicInteger printed = new AtomicInteger();
    /** The reason a failure was recorded for a client whose Hello did not succeed ({@link #activate}). */
    static final String COULD_NOT_JOIN = "could not join: ";

    private CountDownLatch done;
    private AtomicBoolean[] active;
    private final AtomicInteger joined = new AtomicInteger();
    private ExecutorService join;
    private volatile Failure fatal;
    private volatile boolean closing;

    /**
     * @param handlers threads that verify tasks, wait for training, sign and deliver: as many clients as may be
     *     in a round at once (a slow client holds one while it "computes")
     */
    public VirtualFleet(Duration pollWait, Behaviour behaviour, FailurePolicy policy, int handlers, Consumer<String> progress) {
        this.pollWait = pollWait;
        this.behaviour = behaviour;
        this.policy = policy;
        this.progress = progress;
        AtomicInteger n = new AtomicInteger();
        this.handlers = Executors.newFixedThreadPool(handlers, r -> {
            Thread t = new Thread(r, "fleet-handler-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Adds client {@code index} (0-based, in order): before {@link #start}. */
    public void add(PooledAgent agent) {
        agents.add(agent);
    }

    /**
     * The observer for client agents of this fleet: a delivery the coordinator refused is a failure, unless it came
     * too late for its round (a straggler).
     */
    public ClientAgent.Observer observer() {
        return r -> {
            if (r.accepted() || r.reason() == null || r.reason().startsWith("TRAINING_FAILED")) {
                return; // a failed fit was reported, with its reason, by the trainer
            }
            if (LATE.contains(r.reason())) {
                late.incrementAndGet();
            } else {
                failed(r.client().value(), r.round(), "the update was not accepted: " + r.reason());
            }
        };
    }

    /** Reports a failure of client {@code client} in {@code round}; under FAIL it ends the run. */
    public void failed(String client, long round, String what) {
        Failure f = new Failure(client, round, what);
        failures.add(f);
        if (printed.incrementAndGet() <= 20) {
            progress.accept("client failure: " + f);
        } else if (printed.get() == 21) {
            progress.accept("(further client failures are counted, not printed)");
        }
        if (policy == FailurePolicy.FAIL && fatal == null) {
            fatal = f;
            CountDownLatch d = done;
            if (d != null) {
                while (d.getCount() > 0) {
                    d.countDown();
                }
            }
        }
    }

    /**
     * Starts the fleet with no client joined: each joins (Hello, {@code joiners} at a time) when {@link #activate}
     * names it, the first time the coordinator samples it, and from then on long-polls like any client. The
     * coordinator samples from the fleet's roster ({@code CoordinatorConfig.Builder#sampleFrom}), so a client that
     * is never sampled never costs a Hello.
     */
    public void start(int joiners) {
        done = new CountDownLatch(agents.size());
        active = new AtomicBoolean[agents.size()];
        for (int i = 0; i < active.length; i++) {
            active[i] = new AtomicBoolean();
        }
        AtomicInteger n = new AtomicInteger();
        join = Executors.newFixedThreadPool(joiners, r -> {
            Thread t = new Thread(r, "fleet-join-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The coordinator sampled client {@code index} for {@code round}: it joins and polls, unless it already did.
     * Does not block.
     */
    public void activate(int index, long round) {
        if (!active[index].compareAndSet(false, true)) {
            return;
        }
        joined.incrementAndGet();
        PooledAgent agent = agents.get(index);
        join.execute(() -> {
            if (closing || fatal != null) {
                done.countDown();
                return;
            }
            try {
                agent.join();
                poll(index);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                failed(agent.clientId().value(), round, COULD_NOT_JOIN + e.getMessage());
                done.countDown();
            }
        });
    }

    /** The federation finished: clients that never joined have nothing to hear. */
    public void finishInactive() {
        for (AtomicBoolean a : active) {
            if (a.compareAndSet(false, true)) {
                done.countDown();
            }
        }
    }

    /** Clients that joined (were sampled at least once). */
    public int joined() {
        return joined.get();
    }

    /**
     * Tells the fleet which of its clients the coordinator samples: an engine listener that may be added before the
     * fleet starts (the first round can open as the coordinator starts) and remembers what it heard until then.
     */
    public static final class Demand implements UpdateListener {
        private final java.util.function.ToIntFunction<ClientId> index;
        private final List<long[]> early = new ArrayList<>();
        private VirtualFleet fleet;
        private boolean finished;

        /** {@code index}: the fleet's index of a client, or -1 if it is not one of the fleet's. */
        public Demand(java.util.function.ToIntFunction<ClientId> index) {
            this.index = index;
        }

        /** From now on, sampled clients of {@code started} are activated; those sampled before, at once. */
        public synchronized void attach(VirtualFleet started) {
            fleet = started;
            early.forEach(e -> started.activate((int) e[0], e[1]));
            early.clear();
            if (finished) {
                started.finishInactive();
            }
        }

        @Override
        public synchronized void sampled(long round, boolean evaluation, List<ClientId> clients) {
            for (ClientId c : clients) {
                int i = index.applyAsInt(c);
                if (i < 0) {
                    continue;
                }
                if (fleet == null) {
                    early.add(new long[] {i, round});
                } else {
                    fleet.activate(i, round);
                }
            }
        }

        @Override
        public synchronized void finished(long rounds) {
            finished = true;
            if (fleet != null) {
                fleet.finishInactive();
            }
        }
    }

    private void poll(int index) {
        if (closing) {
            return;
        }
        PooledAgent agent = agents.get(index);
        agent.poll(pollWait, new PooledAgent.Listener() {
            @Override
            public void task(PooledAgent.Received task) {
                handlers.execute(() -> handle(index, task));
            }

            @Override
            public void none() {
                poll(index);
            }

            @Override
            public void finished() {
                done.countDown();
            }

            @Override
            public void failed(StatusRuntimeException e) {
                handlers.execute(() -> {
                    try {
                        if (!closing && agent.recover(e)) {
                            poll(index);
                            return;
                        }
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        return;
                    } catch (RuntimeException again) {
                        e.addSuppressed(again);
                    }
                    if (!closing) {
                        VirtualFleet.this.failed(agent.clientId().value(), 0, "lost the coordinator: " + e.getStatus());
                        done.countDown();
                    }
                });
            }
        });
    }

    private void handle(int index, PooledAgent.Received task) {
        PooledAgent agent = agents.get(index);
        if (task.training() && behaviour.dropsOut(index, task.round())) {
            // Offline for the rest of the round: back after its deadline, as a device that comes back online.
            dropouts.incrementAndGet();
            long wait = Math.max(0, task.deadlineUnixMs() - System.currentTimeMillis()) + 1_000;
            timer.schedule(() -> poll(index), wait, TimeUnit.MILLISECONDS);
            return;
        }
        try {
            if (agent.handle(task)) {
                poll(index);
                return;
            }
            failed(agent.clientId().value(), task.round(), "the agent stopped (models failed verification, or training "
                    + "failed, too often in a row)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException e) {
            failed(agent.clientId().value(), task.round(), "handling the task failed: " + e);
        }
        done.countDown();
    }

    /**
     * Waits until every client heard that the federation finished. Every {@code report} without that, {@code stalled}
     * is asked what the federation waits for, and its answer printed (null: it is moving, nothing to say); every
     * second, {@code broken} is asked whether the federation can no longer finish (null: it can).
     *
     * @throws FleetException the failure policy ended the run, the federation broke, or {@code max} passed
     */
    public void await(Duration max, Duration report, java.util.function.Supplier<String> stalled,
                      java.util.function.Supplier<String> broken) throws InterruptedException, FleetException {
        long end = System.nanoTime() + max.toNanos();
        long nextReport = System.nanoTime() + report.toNanos();
        while (!done.await(1, TimeUnit.SECONDS)) {
            String dead = broken.get();
            if (dead != null) {
                throw new FleetException(dead);
            }
            if (System.nanoTime() > end) {
                throw new FleetException("the federation did not finish within " + max + ": " + stalled.get());
            }
            if (System.nanoTime() > nextReport) {
                nextReport = System.nanoTime() + report.toNanos();
                String why = stalled.get();
                if (why != null) {
                    progress.accept(why);
                }
            }
        }
        if (fatal != null) {
            throw new FleetException("client " + fatal + " (--on-client-failure fail; 'continue' goes on without it)");
        }
    }

    public List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Sampled clients that dropped out of their round. */
    public long dropouts() {
        return dropouts.get();
    }

    /** Updates that arrived after their round closed (stragglers). */
    public long late() {
        return late.get();
    }

    @Override
    public void close() {
        closing = true;
        agents.forEach(PooledAgent::stop);
        timer.shutdownNow();
        if (join != null) {
            join.shutdownNow();
        }
        handlers.shutdownNow();
        try {
            handlers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
