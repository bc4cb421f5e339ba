package io.pqfl.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.pqfl.client.data.Examples;
import io.pqfl.client.train.LocalTrainer;
import io.pqfl.client.train.ModelFactory;
import io.pqfl.client.train.TrainResult;
import io.pqfl.client.train.WeightsCodec;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class TrainingTest {
    @ParameterizedTest
    @EnumSource(ModelCatalog.class)
    void codec_roundTripIsBitExact_forEveryModel(ModelCatalog arch) {
        ModelWeights w = arch.initialWeights(5);
        try (Model model = Model.newInstance(arch.id(), Device.cpu())) {
            model.setBlock(ModelFactory.build(arch));
            try (Trainer t = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()))) {
                t.initialize(ModelFactory.INPUT);
                WeightsCodec.write(model.getBlock(), w);
                ModelWeights back = WeightsCodec.read(model.getBlock(), arch.manifest());
                assertThat(back.digest()).isEqualTo(w.digest());
                assertThatThrownBy(() -> WeightsCodec.read(model.getBlock(), ModelCatalog.values()[(arch.ordinal() + 1) % 3].manifest()))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void oneEpochOnASubset_liftsHeldOutAccuracyWellAboveChance() throws Exception {
        Examples train = FashionMnist.train().range(0, 6000);
        Examples test = FashionMnist.test().range(0, 2000);
        try (LocalTrainer trainer = new LocalTrainer(ModelCatalog.MLP, Device.cpu())) {
            ModelWeights initial = ModelCatalog.MLP.initialWeights(1);
            double before = trainer.evaluate(initial, test)[1];
            TrainResult r = trainer.train(initial, train, test, new TrainingConfig(1, 64, 1e-3f, 0f, "adam"), 7, n -> { });
            assertThat(r.examples()).isEqualTo(6000);
            assertThat(before).isLessThan(0.3);
            assertThat(r.evalAccuracy()).isGreaterThan(0.65);
            assertThat(trainer.evaluate(r.weights(), test)[1]).isEqualTo(r.evalAccuracy());
        }
    }

    @Test
    void fedProxTerm_keepsWeightsCloserToTheGlobalModel() throws Exception {
        Examples train = FashionMnist.train().range(0, 2000);
        ModelWeights initial = ModelCatalog.MLP.initialWeights(1);
        try (LocalTrainer trainer = new LocalTrainer(ModelCatalog.MLP, Device.cpu())) {
            TrainResult plain = trainer.train(initial, train, null, new TrainingConfig(1, 64, 1e-3f, 0f, "adam"), 3, n -> { });
            TrainResult prox = trainer.train(initial, train, null, new TrainingConfig(1, 64, 1e-3f, 1.0f, "adam"), 3, n -> { });
            assertThat(distance(prox.weights(), initial)).isLessThan(distance(plain.weights(), initial));
        }
    }

    private static double distance(ModelWeights a, ModelWeights b) {
        double s = 0;
        for (int t = 0; t < a.tensorCount(); t++) {
            for (int i = 0; i < a.tensor(t).length; i++) {
                double d = a.tensor(t)[i] - b.tensor(t)[i];
                s += d * d;
            }
        }
        return Math.sqrt(s);
    }
}
