package io.pqfl.app.model;

import ai.djl.Device;
import io.pqfl.app.CliException;
import io.pqfl.client.train.TorchScriptException;
import io.pqfl.client.train.TorchScriptModel;
import io.pqfl.protocol.ModelWeights;
import java.nio.file.Path;

/**
 * A TorchScript module's own parameters, for {@code pqfl model init --torchscript}. A class of its own so that the
 * other {@code pqfl model} commands load on a coordinator host, which has no DJL: only this one touches libtorch.
 */
final class TorchScriptWeights {
    private TorchScriptWeights() {
    }

    static ModelWeights read(Path pt, int[] inputShape) {
        try (TorchScriptModel model = TorchScriptModel.load(pt, inputShape, Device.cpu())) {
            return model.initialWeights();
        } catch (TorchScriptException e) {
            throw new CliException(e.getMessage(), e);
        }
    }
}
