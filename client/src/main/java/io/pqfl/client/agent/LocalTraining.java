package io.pqfl.client.agent;

import io.pqfl.client.data.Examples;
import io.pqfl.client.train.LocalTrainer;
import io.pqfl.client.train.TrainResult;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.TrainingConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A verified task's local update: DJL training on the client's data, or the {@link ClientAgent.LocalUpdate}
 * hook when one is set (load tests). The DJL trainer is built for the first task's model and kept.
 */
final class LocalTraining implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);

    private final ClientAgent.Settings settings;
    private final ClientAgent.LocalUpdate hook;
    private final Examples train;
    private final Examples eval;
    private final ClientAgent.Progress progress;
    private LocalTrainer trainer;

    /** @param hook computes updates instead of DJL training; null to train */
    LocalTraining(ClientAgent.Settings settings, ClientAgent.LocalUpdate hook, Examples train, Examples eval,
                  ClientAgent.Progress progress) {
        this.settings = settings;
        this.hook = hook;
        this.train = train;
        this.eval = eval;
        this.progress = progress;
    }

    /** Whether updates come from DJL training (so a task's model must be one of the built-in ones). */
    boolean trainsLocally() {
        return hook == null;
    }

    /** The update for {@code task}, which {@link TaskVerifier} has accepted; reports the round done. */
    TrainResult run(Task task, TrainingConfig config) {
        long round = task.round();
        TrainResult result;
        if (hook != null) {
            result = hook.compute(round, task.model(), config);
        } else {
            long total = (long) train.size() * config.localEpochs();
            result = trainer(task).train(task.model(), train, eval, config, settings.seed() * 1_000_003L + round,
                    done -> progress.update(round, done, total));
        }
        progress.roundDone(round);
        return result;
    }

    private LocalTrainer trainer(Task task) {
        if (trainer == null) {
            ModelCatalog architecture;
            try {
                architecture = TaskVerifier.trainable(task.model().manifest());
            } catch (ModelRejectedException e) {
                throw new IllegalStateException(e.getMessage(), e); // checked before: cannot happen
            }
            trainer = new LocalTrainer(architecture, LocalTrainer.chooseDevice(settings.device()));
            log.info("Training on {}", trainer.device());
        }
        return trainer;
    }

    @Override
    public void close() {
        if (trainer != null) {
            trainer.close();
            trainer = null;
        }
    }
}
