package io.pqfl.app;

import io.pqfl.client.agent.LocalDp;
import picocli.CommandLine.Option;

/**
 * Local differential privacy options of {@code pqfl client} and {@code pqfl simulate} (a picocli mixin;
 * docs/PRIVACY.md): each client clips and noises its own update before it signs and sends it.
 */
public final class LocalDpOptions {
    @Option(names = "--local-dp-noise-multiplier", paramLabel = "Z",
            description = "Local differential privacy: each client clips its update's difference from the global model to "
                    + "--local-dp-clip and adds Gaussian noise of std Z * CLIP before sending it (default: off).")
    Double noiseMultiplier;

    @Option(names = "--local-dp-clip", paramLabel = "CLIP",
            description = "With --local-dp-noise-multiplier: the L2 norm each client clips its update's difference to.")
    Double clip;

    @Option(names = "--local-dp-delta", defaultValue = "1e-5", paramLabel = "DELTA",
            description = "The delta a client's local epsilon is reported at (default: ${DEFAULT-VALUE}).")
    double delta;

    /** Whether local DP is on. */
    public boolean on() {
        check();
        return noiseMultiplier != null;
    }

    /** A fresh transform for one client (each counts its own releases); a usage error when the options do not fit. */
    public LocalDp newTransform() {
        check();
        try {
            return new LocalDp(noiseMultiplier, clip, delta);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    public Double noiseMultiplier() {
        return noiseMultiplier;
    }

    public Double clip() {
        return clip;
    }

    public double delta() {
        return delta;
    }

    /** The settings in a line, for reports. */
    public String describe() {
        return "noise multiplier " + noiseMultiplier + ", clip " + clip + ", delta " + delta;
    }

    private void check() {
        if (noiseMultiplier == null && clip != null) {
            throw new UsageException("--local-dp-clip needs --local-dp-noise-multiplier");
        }
        if (noiseMultiplier != null && clip == null) {
            throw new UsageException("--local-dp-noise-multiplier needs --local-dp-clip (the L2 norm updates are clipped to)");
        }
    }
}
