package io.pqfl.app.coordinator;

import ai.djl.Device;
import io.pqfl.app.CliException;
import io.pqfl.client.data.DataException;
import io.pqfl.client.data.DataSpec;
import io.pqfl.client.data.Datasets;
import io.pqfl.client.data.Examples;
import io.pqfl.client.train.DjlModel;
import io.pqfl.client.train.DjlTrainer;
import io.pqfl.client.train.DjlTrainerFactory;
import io.pqfl.client.train.TaskKind;
import io.pqfl.coordinator.evaluate.CentralEvaluator;
import io.pqfl.coordinator.evaluate.Evaluation;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerOptions;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Central evaluation for {@code pqfl coordinator --central-test-data}: the DJL trainer's model (chosen with
 * {@code --central-test-option}s, as a client's {@code --trainer-option}s) evaluates every published global model on
 * the coordinator's own test set. A class of its own, loaded only when asked for: it needs DJL and libtorch, which a
 * coordinator host's jar leaves out.
 */
final class CentralTestSet {
    private CentralTestSet() {
    }

    static CentralEvaluator create(Path data, Map<String, String> options, ModelManifest federation) {
        Map<String, String> o = new HashMap<>(options);
        o.put("data", data.toString());
        TrainerOptions trainerOptions = new TrainerOptions(o, 1, "cpu");
        DjlTrainer evaluator;
        try {
            TaskKind task = DjlTrainerFactory.task(trainerOptions);
            DataSpec spec = DjlTrainerFactory.dataSpec(trainerOptions, task).toBuilder().heldOutFraction(0).build();
            // IDX data has its own test files (t10k-*): those; any other data is the test set as a whole.
            Examples test = Datasets.format(spec) == DataSpec.Format.IDX ? Datasets.trainTest(spec, 0.5, 1).heldOut()
                    : Datasets.load(spec);
            DjlModel model = DjlTrainerFactory.model(trainerOptions, test);
            if (!model.manifest().equals(federation)) {
                throw new CliException("--central-test-option: the model they name is not the federation's: "
                        + federation.describeMismatch(model.manifest()));
            }
            evaluator = DjlTrainer.evaluator(model, task, test, Device.cpu());
        } catch (TrainerException | DataException | IllegalArgumentException e) {
            throw new CliException("--central-test-data: " + e.getMessage(), e);
        }
        return (round, weights) -> {
            try {
                EvaluateResult r = evaluator.evaluate(weights, TrainContext.of(round, TrainingConfig.defaults(), 1));
                return new Evaluation(r.loss(), r.examples(), r.metrics());
            } catch (TrainerException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        };
    }
}
