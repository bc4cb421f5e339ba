package io.pqfl.app;

import io.pqfl.coordinator.secagg.SecAggSettings;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * Secure-aggregation options of {@code pqfl coordinator} and {@code pqfl simulate} (a picocli mixin; docs/PRIVACY.md).
 * Secure aggregation is on with {@code --secure-aggregation}; the other options tune it.
 */
public final class SecAggOptions {
    @Option(names = "--secure-aggregation",
            description = "Post-quantum secure aggregation (SecAgg+ with ML-KEM-768): clients send masked updates and the "
                    + "coordinator learns only their sum (docs/PRIVACY.md); fedavg, fedprox and the FedOpt strategies only.")
    boolean on;

    @Option(names = "--secagg-neighbours", paramLabel = "K", defaultValue = "0",
            description = "With --secure-aggregation: each client's neighbours in the SecAgg+ graph (default 0: 2*ceil(log2 n)+4, "
                    + "a complete graph up to 12 clients).")
    int neighbours;

    @Option(names = "--secagg-threshold", paramLabel = "T", defaultValue = "0",
            description = "With --secure-aggregation: shares needed to rebuild a client's seed (default 0: floor(K/2)+1).")
    int threshold;

    @Option(names = "--secagg-clip", paramLabel = "C", defaultValue = "1.0",
            description = "With --secure-aggregation: each coordinate of an update's difference from the global model is "
                    + "clipped to [-C, C] before the fixed-point encoding (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--secagg-weight-cap", paramLabel = "W", defaultValue = "65536",
            description = "With --secure-aggregation: the largest example weight one client's update may carry "
                    + "(default: ${DEFAULT-VALUE}).")
    long weightCap;

    @Option(names = "--secagg-phase-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "With --secure-aggregation: how long the key, share and unmask phases wait for slow clients "
                    + "(default: ${DEFAULT-VALUE}).")
    long phaseTimeoutSeconds;

    /** The settings, or null when secure aggregation is off; a usage error when the options do not fit together. */
    public SecAggSettings settings() {
        if (!on) {
            if (neighbours != 0 || threshold != 0) {
                throw new UsageException("--secagg-neighbours and --secagg-threshold need --secure-aggregation");
            }
            return null;
        }
        try {
            return new SecAggSettings(neighbours, threshold, clip, weightCap, Duration.ofSeconds(phaseTimeoutSeconds));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
