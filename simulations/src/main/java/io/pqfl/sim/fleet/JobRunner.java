package io.pqfl.sim.fleet;

import ai.djl.Device;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.client.train.DjlModel;
import io.pqfl.client.train.DjlTrainer;
import io.pqfl.client.train.DjlTrainerFactory;
import io.pqfl.client.train.TaskKind;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerOptions;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Runs {@link Job}s with the DJL trainer, the same in a worker process and in the simulation's own JVM: for each
 * job a fresh model and trainer over the job's examples, closed when the job ends, so a virtual client is
 * materialised only while its job runs. One job at a time (DJL allows one gradient collector per process).
 */
final class JobRunner {
    private final WorkerSetup setup;
    private final TaskKind task;

    private final Device device;
    /**
     * The CPU time of the job's thread: with one libtorch thread per process (as the simulation runs its workers)
     * the operators run on the calling thread, so this is the job's compute without the time it waited for a core.
     */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    JobRunner(WorkerSetup setup) throws TrainerException {
        this.setup = setup;
        this.device = DjlTrainer.chooseDevice(setup.device());
        this.task = setup.model().isEmpty() ? DjlTrainerFactory.task(options()) : TaskKind.CLASSIFICATION;
    }

    private TrainerOptions options() {
        return new TrainerOptions(setup.options(), setup.seed(), "cpu");
    }

    private static DjlModel model(WorkerSetup setup, io.pqfl.client.data.Examples data) throws TrainerException {
        return setup.model().isEmpty()
                ? DjlTrainerFactory.model(new TrainerOptions(setup.options(), setup.seed(), "cpu"), data)
                : DjlModel.builtIn(ModelCatalog.byId(setup.model()));
    }

    private static long cpuMillis(long since) {
        return (THREADS.getCurrentThreadCpuTime() - since) / 1_000_000;
    }

    JobResult run(Job job) throws TrainerException {
        long start = System.nanoTime();
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        try (DjlTrainer trainer = new DjlTrainer(model(setup, job.train()), task, job.train(), job.eval(), device)) {
            TrainContext context = TrainContext.of(job.round(), job.config(), job.seed());
            if (job.kind() == Job.Kind.FIT) {
                FitResult r = trainer.fit(job.global(), context);
                return new JobResult(r.weights(), r.examples(), r.metric(io.pqfl.trainer.Metrics.LOSS, Double.NaN),
                        r.metrics(), (System.nanoTime() - start) / 1_000_000, cpuMillis(cpuStart));
            }
            EvaluateResult r = trainer.evaluate(job.global(), context);
            return new JobResult(null, r.examples(), r.loss(), r.metrics(), (System.nanoTime() - start) / 1_000_000,
                    cpuMillis(cpuStart));
        }
    }
}
