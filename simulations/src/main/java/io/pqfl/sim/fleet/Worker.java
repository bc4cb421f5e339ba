package io.pqfl.sim.fleet;

/** Runs one {@link Job} at a time: in the simulation's JVM, or in a worker process. */
interface Worker extends AutoCloseable {
    /**
     * Runs {@code job}.
     *
     * @throws WorkerException the job failed (the trainer's reason), or the worker died ({@link #alive} turns false)
     */
    JobResult run(Job job) throws WorkerException, InterruptedException;

    /** False once the worker can take no more jobs (its process died). */
    boolean alive();

    /** The highest resident memory the worker used so far, in bytes; -1 when unknown. */
    long peakRssBytes();

    String describe();

    @Override
    void close();
}
