package io.pqfl.app;

import io.pqfl.coordinator.privacy.DpSettings;
import picocli.CommandLine.Option;

/**
 * Central differential privacy options of {@code pqfl coordinator} and {@code pqfl simulate} (a picocli mixin;
 * docs/PRIVACY.md). DP is on when {@code --dp-noise-multiplier} is given, and then needs {@code --dp-clip};
 * {@code --dp-clip-quantile} turns on adaptive clipping. The clipped-count noise std left to its default is filled in
 * by {@link DpSettings#forExpectedClients} where the clients per round are known.
 */
public final class DpOptions {
    @Option(names = "--dp-noise-multiplier", paramLabel = "Z",
            description = "Central differential privacy: Gaussian noise of std Z * CLIP / n on the average of the n clipped "
                    + "update differences (docs/PRIVACY.md); fedavg, fedprox and the FedOpt strategies only (default: no DP).")
    Double noiseMultiplier;

    @Option(names = "--dp-clip", paramLabel = "CLIP",
            description = "With --dp-noise-multiplier: the L2 norm each update's difference from the global model is clipped to"
                    + " (with --dp-clip-quantile: in the first round).")
    Double clip;

    @Option(names = "--dp-delta", defaultValue = "1e-5", paramLabel = "DELTA",
            description = "The delta epsilon is reported at (default: ${DEFAULT-VALUE}).")
    double delta;

    @Option(names = "--dp-epsilon-budget", paramLabel = "EPS",
            description = "Refuse to start when the planned rounds could spend more than EPS, and stop before a round that "
                    + "would (default: no budget).")
    Double epsilonBudget;

    @Option(names = "--dp-clip-quantile", paramLabel = "Q",
            description = "Adaptive clipping (Andrew et al. 2021; docs/PRIVACY.md): --dp-clip is only the first round's norm,"
                    + " which then moves after each round towards the norm that a share Q of the updates does not exceed,"
                    + " e.g. 0.5 for the median (default: fixed clipping).")
    Double clipQuantile;

    @Option(names = "--dp-clip-lr", paramLabel = "LR",
            description = "With --dp-clip-quantile: the geometric rate C <- C * exp(-LR * (unclipped share - Q)) (default: "
                    + DpSettings.AdaptiveClipping.DEFAULT_LEARNING_RATE + ").")
    Double clipLearningRate;

    @Option(names = "--dp-clip-count-stddev", paramLabel = "STD",
            description = "With --dp-clip-quantile: the Gaussian noise std on the count of unclipped updates (default: the"
                    + " expected clients per round / 20). It must exceed --dp-noise-multiplier / 2; the updates then get"
                    + " the noise multiplier (Z^-2 - (2 STD)^-2)^(-1/2), so that a round still costs what Z does.")
    Double clipCountStddev;

    /** The settings, or null when DP is off; a usage error when the options do not fit together. */
    public DpSettings settings() {
        if (clipQuantile == null && (clipLearningRate != null || clipCountStddev != null)) {
            throw new UsageException("--dp-clip-lr and --dp-clip-count-stddev need --dp-clip-quantile (adaptive clipping)");
        }
        if (noiseMultiplier == null) {
            if (clip != null || epsilonBudget != null || clipQuantile != null) {
                throw new UsageException("--dp-clip, --dp-epsilon-budget and --dp-clip-quantile need --dp-noise-multiplier");
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
            DpSettings.AdaptiveClipping adaptive = clipQuantile == null ? null : new DpSettings.AdaptiveClipping(
                    clipQuantile, clipLearningRate == null ? DpSettings.AdaptiveClipping.DEFAULT_LEARNING_RATE : clipLearningRate,
                    clipCountStddev == null ? Double.NaN : clipCountStddev);
            return new DpSettings(noiseMultiplier, clip, delta, epsilonBudget == null ? 0 : epsilonBudget, adaptive);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
