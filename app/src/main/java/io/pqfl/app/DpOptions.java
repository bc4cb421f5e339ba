package io.pqfl.app;

import io.pqfl.coordinator.privacy.DpSettings;
import picocli.CommandLine.Option;

/**
 * Central differential privacy options of {@code pqfl coordinator} and {@code pqfl simulate} (a picocli mixin;
 * docs/PRIVACY.md). DP is on when {@code --dp-noise-multiplier} is given, and then needs {@code --dp-clip}.
 */
public final class DpOptions {
    @Option(names = "--dp-noise-multiplier", paramLabel = "Z",
            description = "Central differential privacy: Gaussian noise of std Z * CLIP / n on the average of the n clipped "
                    + "update differences (docs/PRIVACY.md); fedavg, fedprox and the FedOpt strategies only (default: no DP).")
    Double noiseMultiplier;

    @Option(names = "--dp-clip", paramLabel = "CLIP",
            description = "With --dp-noise-multiplier: the L2 norm each update's difference from the global model is clipped to.")
    Double clip;

    @Option(names = "--dp-delta", defaultValue = "1e-5", paramLabel = "DELTA",
            description = "The delta epsilon is reported at (default: ${DEFAULT-VALUE}).")
    double delta;

    @Option(names = "--dp-epsilon-budget", paramLabel = "EPS",
            description = "Refuse to start when the planned rounds could spend more than EPS, and stop before a round that "
                    + "would (default: no budget).")
    Double epsilonBudget;

    /** The settings, or null when DP is off; a usage error when the options do not fit together. */
    public DpSettings settings() {
        if (noiseMultiplier == null) {
            if (clip != null || epsilonBudget != null) {
                throw new UsageException("--dp-clip and --dp-epsilon-budget need --dp-noise-multiplier");
            }
            return null;
        }
        if (clip == null) {
            throw new UsageException("--dp-noise-multiplier needs --dp-clip (the L2 norm updates are clipped to)");
        }
        if (epsilonBudget != null && !(epsilonBudget > 0)) {
            throw new UsageException("--dp-epsilon-budget must be > 0, got " + epsilonBudget);
        }
        try {
            return new DpSettings(noiseMultiplier, clip, delta, epsilonBudget == null ? 0 : epsilonBudget);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
