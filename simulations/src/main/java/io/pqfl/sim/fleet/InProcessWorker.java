package io.pqfl.sim.fleet;

import io.pqfl.trainer.TrainerException;

/** A worker in the simulation's own JVM: no process to start, the JVM's resident memory is the simulation's. */
final class InProcessWorker implements Worker {
    private final JobRunner runner;

    InProcessWorker(WorkerSetup setup) throws TrainerException {
        this.runner = new JobRunner(setup);
    }

    @Override
    public synchronized JobResult run(Job job) throws WorkerException {
        try {
            return runner.run(job);
        } catch (TrainerException | RuntimeException e) {
            throw new WorkerException(e.toString(), e);
        }
    }

    @Override
    public boolean alive() {
        return true;
    }

    @Override
    public long peakRssBytes() {
        return -1; // counted as the simulation's own
    }

    @Override
    public String describe() {
        return "in-process worker";
    }

    @Override
    public void close() {
    }
}
