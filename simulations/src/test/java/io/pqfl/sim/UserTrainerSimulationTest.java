package io.pqfl.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.sim.attack.AttackPlan;
import io.pqfl.sim.data.Partitioner;
import io.pqfl.sim.load.SyntheticTrainer;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.Metrics;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A simulation arm with a user's trainer: every virtual client gets its own trainer with its partition in the
 * options, the coordinator starts from the trainer's initial weights, and the global model is evaluated through
 * one more trainer.
 */
class UserTrainerSimulationTest {
    static final ModelManifest ONE = new ModelManifest("one", List.of(TensorSpec.of("w", 2)));

    @TempDir
    Path dir;

    /** Client i adds i + 1 to every weight; the evaluator's "accuracy" is the first weight. */
    static final class ShiftFactory implements TrainerFactory {
        final List<TrainerOptions> created = new CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "shift";
        }

        @Override
        public String description() {
            return "shifts weights";
        }

        @Override
        public Trainer create(TrainerOptions options) throws io.pqfl.trainer.TrainerException {
            created.add(options);
            SyntheticTrainer synthetic = new SyntheticTrainer(ONE, options.getInt("client-index", 0) + 1);
            return new Trainer() {
                @Override
                public ModelManifest manifest() {
                    return ONE;
                }

                @Override
                public FitResult fit(ModelWeights global, TrainContext context) {
                    return synthetic.fit(global, context);
                }

                @Override
                public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                    return new EvaluateResult(1, 10, Map.of(Metrics.ACCURACY, (double) model.tensor(0)[0]));
                }

                @Override
                public ModelWeights initialWeights(long seed) {
                    return ModelWeights.of(ONE, new float[][] {{0.5f, 0.5f}});
                }
            };
        }
    }

    @Test
    void everyClientGetsItsOwnTrainerAndPartition_andTheGlobalModelIsEvaluatedThroughATrainer() throws Exception {
        ShiftFactory factory = new ShiftFactory();
        SimulationRunner.Spec spec = new SimulationRunner.Spec("user", SigningPolicy.SIGNED, SignatureScheme.ML_DSA_44, 2, 2,
                ModelCatalog.MLP, "fedavg", Map.of(), TrainingConfig.defaults(), Partitioner.Kind.IID, 0.5, 0, 1,
                SimulationRunner.Transport.IN_PROCESS, AttackPlan.none(), Duration.ofSeconds(60),
                new SimulationRunner.TrainerSetup(factory, Map.of("flavour", "x")));
        SimulationRunner.Result r = SimulationRunner.run(spec, null, null, dir, line -> { });
        assertThat(factory.created).extracting(TrainerOptions::values).containsExactly(
                Map.of("flavour", "x", "partition", "0/2", "client-index", "0", "clients", "2"),
                Map.of("flavour", "x", "partition", "1/2", "client-index", "1", "clients", "2"),
                Map.of("flavour", "x", "partition", "all", "client-index", "-1", "clients", "2"));
        assertThat(factory.created).extracting(TrainerOptions::seed).containsExactly(1L, 2L, 1L);
        // FedAvg of +1 and +2 with equal example counts: +1.5 a round, from 0.5.
        assertThat(r.initialAccuracy()).isEqualTo(0.5);
        assertThat(r.rounds()).extracting(SimulationRunner.Round::accuracy).containsExactly(2.0, 3.5);
        assertThat(r.clients()).hasSize(4).allSatisfy(c -> assertThat(c.accepted()).isTrue());
        // After the last round both clients evaluated the final model through their trainers and signed it.
        assertThat(r.federated()).isNotNull();
        assertThat(r.federated().round()).isEqualTo(2);
        assertThat(r.federated().clients()).isEqualTo(2);
        assertThat(r.federated().examples()).isEqualTo(20);
        assertThat(r.federated().loss()).isEqualTo(1.0);
    }

    /**
     * Hundreds of simulated clients share 127.0.0.1: the per-address limits meant for strangers must not throttle the
     * simulated federation (they once made evaluations wait out their deadline and runs look hung).
     */
    @Test
    void threeHundredClientsOverLoopback_allTrainAndAllAnswerTheFinalEvaluation() throws Exception {
        ShiftFactory factory = new ShiftFactory();
        SimulationRunner.Spec spec = new SimulationRunner.Spec("many", SigningPolicy.SIGNED, SignatureScheme.ML_DSA_44, 300, 1,
                ModelCatalog.MLP, "fedavg", Map.of(), TrainingConfig.defaults(), Partitioner.Kind.IID, 0.5, 0, 1,
                SimulationRunner.Transport.PLAINTEXT, AttackPlan.none(), Duration.ofSeconds(60),
                new SimulationRunner.TrainerSetup(factory, Map.of()));
        SimulationRunner.Result r = SimulationRunner.run(spec, null, null, dir, line -> { });
        assertThat(r.clients()).hasSize(300).allSatisfy(c -> assertThat(c.accepted()).isTrue());
        assertThat(r.federated()).isNotNull();
        assertThat(r.federated().clients()).isEqualTo(300);
        assertThat(r.federated().examples()).isEqualTo(3000);
    }
}
