package io.pqfl.sim.fleet;

import java.util.Map;
import java.util.Objects;

/**
 * What every worker builds its models from: a built-in model's id ({@code model}), or the DJL trainer's options
 * ({@code options}: a block factory, TorchScript, dense, ...), the task (classification, binary, regression), and
 * the seed models are initialised with, and the model's manifest (every tensor on the pipe is checked against it).
 * {@code device}: where the workers train ({@code cpu}, {@code gpu} or {@code auto}). Sent once to each worker process.
 */
public record WorkerSetup(String model, Map<String, String> options, String task, long seed,
                          io.pqfl.protocol.ModelManifest manifest, String device) {
    public WorkerSetup {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(device, "device");
        options = Map.copyOf(options);
    }
}
