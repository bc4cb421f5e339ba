package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.TrainingConfig;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How the training configuration changes over the rounds: a learning-rate schedule and local epochs by round. The
 * coordinator applies it to the base configuration before the strategy's per-client {@code configureClient}, and
 * every client receives the result in its signed task statement.
 *
 * <p>Learning rate ({@code --lr-schedule}): {@code constant} (the base rate every round); {@code step:F@N} (times
 * {@code F} every {@code N} rounds: round r gets {@code lr * F^floor((r-1)/N)}); {@code exp:G} ({@code lr * G^(r-1)});
 * {@code cosine} or {@code cosine:MIN} (from {@code lr} in round 1 down to {@code MIN}, default {@code lr/100}, in the last round:
 * {@code MIN + (lr - MIN) * (1 + cos(pi * (r-1)/(R-1))) / 2}). Local epochs ({@code --epochs-schedule}):
 * {@code R:E,R:E,...}, from round {@code R} on, {@code E} epochs (rounds before the first entry keep the base).
 */
public record TrainingSchedule(String learningRate, NavigableMap<Long, Integer> epochs) {
    public static final TrainingSchedule CONSTANT = new TrainingSchedule("constant", new TreeMap<>());

    public TrainingSchedule {
        Objects.requireNonNull(learningRate, "learningRate");
        epochs = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(epochs));
    }

    /**
     * Parses the two settings; {@code epochsSpec} may be null or empty.
     *
     * @throws IllegalArgumentException naming the setting and what was expected
     */
    public static TrainingSchedule parse(String lrSpec, String epochsSpec) {
        String lr = lrSpec == null || lrSpec.isBlank() ? "constant" : lrSpec.trim().toLowerCase(Locale.ROOT);
        rate(lr, 1, 1, 1); // validates
        NavigableMap<Long, Integer> epochs = new TreeMap<>();
        if (epochsSpec != null && !epochsSpec.isBlank()) {
            for (String part : epochsSpec.split(",")) {
                String[] kv = part.trim().split(":");
                try {
                    if (kv.length != 2) {
                        throw new NumberFormatException();
                    }
                    long round = Long.parseLong(kv[0].trim());
                    int e = Integer.parseInt(kv[1].trim());
                    if (round < 1 || e < 1 || e > 10_000) {
                        throw new NumberFormatException();
                    }
                    if (epochs.put(round, e) != null) {
                        throw new IllegalArgumentException("epochs schedule names round " + round + " twice");
                    }
                } catch (NumberFormatException ex) {
                    throw new IllegalArgumentException("epochs schedule entries are ROUND:EPOCHS (round >= 1, 1-10000 "
                            + "epochs), e.g. 1:1,5:2; got '" + part.trim() + "'");
                }
            }
        }
        return new TrainingSchedule(lr, epochs);
    }

    /** The configuration of round {@code round} of {@code totalRounds}, from {@code base}. */
    public TrainingConfig forRound(long round, long totalRounds, TrainingConfig base) {
        float lr = (float) rate(learningRate, base.learningRate(), round, totalRounds);
        Map.Entry<Long, Integer> e = epochs.floorEntry(round);
        int localEpochs = e == null ? base.localEpochs() : e.getValue();
        return new TrainingConfig(localEpochs, base.batchSize(), lr, base.proximalMu(), base.optimizer());
    }

    /**
     * Checks that every round of a run of {@code totalRounds} gets a valid configuration (the schedules are monotone,
     * so the first and the last round decide).
     *
     * @throws IllegalArgumentException naming the round whose rate is not positive
     */
    public void validate(long totalRounds, TrainingConfig base) {
        forRound(1, totalRounds, base);
        forRound(Math.max(1, totalRounds), totalRounds, base);
    }

    /** A short description for the run's log line. */
    public String describe() {
        return "lr " + learningRate + (epochs.isEmpty() ? "" : ", epochs " + epochs);
    }

    private static double rate(String spec, double lr, long round, long total) {
        String[] p = spec.split(":", 2);
        try {
            double rate = switch (p[0]) {
                case "constant" -> {
                    requireNoArg(spec, p);
                    yield lr;
                }
                case "exp" -> lr * Math.pow(positive(p, spec), round - 1);
                case "step" -> {
                    String[] fn = arg(p, spec).split("@");
                    if (fn.length != 2) {
                        throw new IllegalArgumentException("learning-rate schedule step needs F@N, e.g. step:0.5@10; got '" + spec + "'");
                    }
                    double f = Double.parseDouble(fn[0]);
                    long every = Long.parseLong(fn[1]);
                    if (!(f > 0) || every < 1) {
                        throw new IllegalArgumentException("learning-rate schedule step needs F > 0 and N >= 1, got '" + spec + "'");
                    }
                    yield lr * Math.pow(f, Math.floorDiv(round - 1, every));
                }
                case "cosine" -> {
                    double min = p.length == 1 ? lr / 100 : Double.parseDouble(p[1]);
                    if (!(min >= 0)) {
                        throw new IllegalArgumentException("learning-rate schedule cosine:MIN needs MIN >= 0, got '" + spec + "'");
                    }
                    double t = total <= 1 ? 0 : (double) (round - 1) / (total - 1);
                    yield min + (lr - min) * (1 + Math.cos(Math.PI * Math.min(1, t))) / 2;
                }
                default -> throw new IllegalArgumentException("unknown learning-rate schedule '" + spec
                        + "': use constant, step:F@N, exp:G or cosine[:MIN]");
            };
            if (!(rate > 0) || !Double.isFinite(rate) || (float) rate <= 0f) {
                throw new IllegalArgumentException("learning-rate schedule '" + spec + "' gives a rate of " + rate
                        + " in round " + round + "; rates must stay positive");
            }
            return rate;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("learning-rate schedule '" + spec + "': not a number", e);
        }
    }

    private static void requireNoArg(String spec, String[] p) {
        if (p.length > 1) {
            throw new IllegalArgumentException("learning-rate schedule constant takes no argument, got '" + spec + "'");
        }
    }

    private static String arg(String[] p, String spec) {
        if (p.length < 2 || p[1].isBlank()) {
            throw new IllegalArgumentException("learning-rate schedule '" + spec + "' needs an argument");
        }
        return p[1];
    }

    private static double positive(String[] p, String spec) {
        double g = Double.parseDouble(arg(p, spec));
        if (!(g > 0)) {
            throw new IllegalArgumentException("learning-rate schedule exp:G needs G > 0, got '" + spec + "'");
        }
        return g;
    }
}
