package io.pqfl.client.agent;

import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A verified task's local update: the {@link Trainer}'s fit from the task's global model, with the round's
 * configuration, a seed derived from the client's seed and the round, and progress reported to the agent's
 * {@link ClientAgent.Progress}. The agent measures the fit's wall time itself.
 */
final class LocalTraining {
    private final ClientAgent.Settings settings;
    private final Trainer trainer;
    private final ClientAgent.Progress progress;

    /** A fit's result and its wall time, with {@link Metrics#TRAIN_MILLIS} among the metrics. */
    record Outcome(FitResult result, long millis) {
    }

    /** A fit that failed: the trainer threw, or returned nothing. The round sends no update. */
    static final class Failed extends Exception {
        private static final long serialVersionUID = 1L;

        Failed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    LocalTraining(ClientAgent.Settings settings, Trainer trainer, ClientAgent.Progress progress) {
        this.settings = settings;
        this.trainer = trainer;
        this.progress = progress;
    }

    Trainer trainer() {
        return trainer;
    }

    /** The update for {@code task}, which {@link TaskVerifier} has accepted; reports the round done either way. */
    Outcome run(Task task, TrainingConfig config) throws Failed {
        long round = task.round();
        long start = System.nanoTime();
        FitResult result;
        try {
            result = trainer.fit(task.model(), new TrainContext(round, config, settings.seed() * 1_000_003L + round,
                    (done, total) -> progress.update(round, done, total)));
        } catch (TrainerException e) {
            throw new Failed(e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new Failed("the trainer failed: " + e, e);
        } finally {
            progress.roundDone(round);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (result == null) {
            throw new Failed(trainer.getClass().getName() + ".fit returned null", null);
        }
        if (!result.weights().manifest().equals(trainer.manifest())) {
            throw new Failed("the trainer returned weights for another model: "
                    + trainer.manifest().describeMismatch(result.weights().manifest()), null);
        }
        if (!result.metrics().containsKey(Metrics.TRAIN_MILLIS) && result.metrics().size() < 32) {
            Map<String, Double> metrics = new LinkedHashMap<>(result.metrics());
            metrics.put(Metrics.TRAIN_MILLIS, (double) millis);
            result = new FitResult(result.weights(), result.examples(), metrics);
        }
        return new Outcome(result, millis);
    }
}
