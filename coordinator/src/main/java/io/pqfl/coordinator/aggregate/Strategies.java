package io.pqfl.coordinator.aggregate;

import java.util.Locale;
import java.util.Map;

/** Builds a strategy from its configured name and parameters, with defaults from the papers / Flower. */
public final class Strategies {
    public static final String NAMES = "fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedmedian, trimmedmean, krum, multikrum";

    private Strategies() {
    }

    public static Strategy create(String name, Map<String, String> params) {
        String n = name.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
        // Averaging strategies take weighting=examples (default) or weighting=equal.
        Weighting w = Weighting.parse(params.get("weighting"));
        return switch (n) {
            case "fedavg" -> new FedAvg(w);
            case "fedprox" -> new FedProx(f(params, "mu", 0.01f), w);
            case "fedadam" -> new FedAdam(f(params, "eta", 0.01f), f(params, "beta1", 0.9f), f(params, "beta2", 0.99f),
                    f(params, "tau", 1e-3f)).weighting(w);
            case "fedyogi" -> new FedYogi(f(params, "eta", 0.01f), f(params, "beta1", 0.9f), f(params, "beta2", 0.99f),
                    f(params, "tau", 1e-3f)).weighting(w);
            case "fedadagrad" -> new FedAdagrad(f(params, "eta", 0.1f), f(params, "beta1", 0f), f(params, "tau", 1e-3f))
                    .weighting(w);
            case "fedmedian" -> new FedMedian();
            case "trimmedmean" -> new TrimmedMean(f(params, "beta", 0.1f));
            case "krum" -> new Krum(i(params, "f", 1), 1, w);
            case "multikrum" -> new Krum(i(params, "f", 1), i(params, "m", 2), w);
            default -> throw new IllegalArgumentException("unknown strategy '" + name + "'; valid: " + NAMES);
        };
    }

    private static float f(Map<String, String> params, String key, float fallback) {
        String v = params.get(key);
        try {
            return v == null ? fallback : Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("strategy parameter " + key + "=" + v + " is not a number");
        }
    }

    private static int i(Map<String, String> params, String key, int fallback) {
        String v = params.get(key);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("strategy parameter " + key + "=" + v + " is not an integer");
        }
    }
}
