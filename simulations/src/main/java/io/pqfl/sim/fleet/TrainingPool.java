package io.pqfl.sim.fleet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The simulation's training workers: {@code workers} of them, each training one virtual client at a time, so that
 * up to {@code workers} clients train at once for real. With one worker, it runs in the simulation's JVM; with
 * more, each is a process of its own (DJL allows one gradient collector per process). A worker process that dies
 * fails the job it had, is reported, and is replaced.
 */
public final class TrainingPool implements AutoCloseable {
    private final WorkerSetup setup;
    private final Path logDir;
    private final Consumer<String> progress;
    private final BlockingQueue<Worker> idle;
    private final List<Worker> all = new ArrayList<>();
    private final AtomicLong computeMillis = new AtomicLong();
    private final AtomicLong cpuMillis = new AtomicLong();
    private final AtomicLong jobs = new AtomicLong();
    private int started;
    private volatile String broken;
    private final java.util.concurrent.atomic.AtomicInteger lost = new java.util.concurrent.atomic.AtomicInteger();
    private final int size;

    /** Starts {@code workers} workers for models of {@code setup}; worker processes log to {@code logDir}. */
    public static TrainingPool open(WorkerSetup setup, int workers, Path logDir, Consumer<String> progress) throws Exception {
        return new TrainingPool(setup, workers, logDir, progress);
    }

    /**
     * The trainer of virtual client {@code client}: see {@link FleetTrainer}. {@code data} gives a client's training
     * and held-out examples by index; {@code failures} hears of each failed job.
     */
    public io.pqfl.trainer.Trainer trainer(int client, io.pqfl.protocol.ModelManifest manifest,
                                           java.util.function.IntFunction<io.pqfl.client.data.Examples[]> data,
                                           double slowdown, FleetTrainer.Failures failures) {
        return new FleetTrainer(client, manifest, data, this, slowdown, failures);
    }

    private TrainingPool(WorkerSetup setup, int workers, Path logDir, Consumer<String> progress) throws Exception {
        if (workers < 1) {
            throw new IllegalArgumentException("need at least one worker, got " + workers);
        }
        this.setup = setup;
        this.logDir = logDir;
        this.progress = progress;
        this.size = workers;
        this.idle = new ArrayBlockingQueue<>(workers);
        Files.createDirectories(logDir);
        for (int i = 0; i < workers; i++) {
            idle.add(start());
        }
    }

    private synchronized Worker start() throws Exception {
        Worker w = size == 1 ? new InProcessWorker(setup)
                : new ProcessWorker(started, setup, logDir.resolve("worker-" + started + ".log"));
        started++;
        all.add(w);
        return w;
    }

    public int size() {
        return size;
    }

    /** Runs {@code job} on the next free worker, waiting for one; fails when no worker is left. */
    JobResult run(Job job) throws WorkerException, InterruptedException {
        Worker w;
        while ((w = idle.poll(1, java.util.concurrent.TimeUnit.SECONDS)) == null) {
            String why = broken;
            if (why != null && lost.get() >= size) {
                throw new WorkerException("no training worker is left: " + why);
            }
        }
        try {
            JobResult r = w.run(job);
            computeMillis.addAndGet(r.computeMillis());
            cpuMillis.addAndGet(r.cpuMillis());
            jobs.incrementAndGet();
            return r;
        } finally {
            if (!w.alive()) {
                w.close();
                progress.accept(w.describe() + " died; starting a new worker in its place");
                try {
                    w = start();
                } catch (Exception e) {
                    broken = "could not start a worker in place of a dead one: " + e.getMessage();
                    lost.incrementAndGet();
                    progress.accept(broken);
                    w = null;
                }
            }
            if (w != null) {
                idle.add(w);
            }
        }
    }

    /** Milliseconds the workers spent computing (fits and evaluations), summed over jobs. */
    public long computeMillis() {
        return computeMillis.get();
    }

    /**
     * CPU milliseconds the workers' threads spent on jobs: {@link #computeMillis} less the time the jobs waited for
     * a core (on a machine busy with the federation's own protocol work, most of the difference).
     */
    public long cpuMillis() {
        return cpuMillis.get();
    }

    public long jobs() {
        return jobs.get();
    }

    /** The highest resident memory of the worker processes, summed; 0 for an in-process worker. */
    public synchronized long peakWorkerRssBytes() {
        return all.stream().mapToLong(Worker::peakRssBytes).filter(v -> v > 0).sum();
    }

    @Override
    public synchronized void close() {
        all.forEach(Worker::close);
    }
}
