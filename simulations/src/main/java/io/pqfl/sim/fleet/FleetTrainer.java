package io.pqfl.sim.fleet;

import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import java.util.function.IntFunction;

/**
 * A virtual client's trainer: holds nothing but the client's index. Each fit or evaluation takes the client's
 * examples from the simulation's partition, runs as a {@link Job} on the {@link TrainingPool}, and then, for a
 * client slower than the fastest, waits out the rest of its (simulated) device time before the update is signed
 * and sent. A job that fails is reported to the fleet with the worker's reason, and fails the fit like any
 * trainer's failure.
 */
final class FleetTrainer implements Trainer {
    /** Where a client's failed job is reported. */
    public interface Failures {
        void failed(int client, long round, String what);
    }

    private final int client;
    private final ModelManifest manifest;
    private final IntFunction<Examples[]> data;
    private final TrainingPool pool;
    private final double slowdown;
    private final Failures failures;

    /**
     * @param data the client's training and held-out examples, by client index (made when asked, not kept)
     * @param slowdown this client's device time per unit of worker compute (1 = as fast as the worker)
     */
    FleetTrainer(int client, ModelManifest manifest, IntFunction<Examples[]> data, TrainingPool pool, double slowdown,
                 Failures failures) {
        this.client = client;
        this.manifest = manifest;
        this.data = data;
        this.pool = pool;
        this.slowdown = slowdown;
        this.failures = failures;
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public FitResult fit(ModelWeights global, TrainContext context) throws TrainerException {
        JobResult r = run(Job.Kind.FIT, global, context);
        return new FitResult(r.weights(), r.examples(), r.metrics());
    }

    @Override
    public EvaluateResult evaluate(ModelWeights global, TrainContext context) throws TrainerException {
        JobResult r = run(Job.Kind.EVALUATE, global, context);
        return new EvaluateResult(r.loss(), r.examples(), r.metrics());
    }

    private JobResult run(Job.Kind kind, ModelWeights global, TrainContext context) throws TrainerException {
        Examples[] mine = data.apply(client);
        Job job = new Job(kind, client, context.round(), context.seed(), context.config(), global, mine[0], mine[1]);
        try {
            JobResult r = pool.run(job);
            long extra = (long) ((slowdown - 1) * r.computeMillis());
            if (extra > 0) {
                Thread.sleep(extra);
            }
            return r;
        } catch (WorkerException e) {
            String what = (kind == Job.Kind.FIT ? "training" : "evaluation") + " failed: " + e.getMessage();
            failures.failed(client, context.round(), what);
            throw new TrainerException(what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted", e);
        }
    }
}
