package io.pqfl.app;

import io.pqfl.client.train.DjlTrainerFactory;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.Trainers;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The trainer options {@code pqfl client} and {@code pqfl simulate} share: which {@link io.pqfl.trainer.Trainer} to
 * train with ({@code --trainer}, {@code --trainer-jar}), its options ({@code --trainer-option KEY=VALUE}) and the
 * DJL trainer's {@code --task}.
 */
public final class TrainerChoice {
    @Option(names = "--trainer", paramLabel = "NAME|CLASS",
            description = "The trainer: a registered name (djl is built in) or the class name of a TrainerFactory or "
                    + "Trainer (default: djl, or the only trainer registered in --trainer-jar).")
    String trainer;

    @Option(names = "--trainer-jar", paramLabel = "JAR", description = "Load the trainer (and, for djl, a block-factory) "
            + "from this jar.")
    Path jar;

    @Option(names = "--trainer-option", paramLabel = "KEY=VALUE",
            description = "An option for the trainer (repeatable). The djl trainer knows model, block-factory, "
                    + "torchscript, task, data, data-format, csv-scale, partition and eval-fraction.")
    Map<String, String> options = new LinkedHashMap<>();

    @Option(names = "--task", paramLabel = "KIND",
            description = "What the DJL model predicts: classification, binary, regression or regression-l1 "
                    + "(default: classification); the trainer option task.")
    String task;

    /** Whether anything was chosen beyond the built-in default (the djl trainer with no options). */
    public boolean custom() {
        return (trainer != null && !trainer.equals(DjlTrainerFactory.NAME)) || jar != null || !options.isEmpty()
                || task != null;
    }

    /** The chosen factory, found on the class path or in the jar. */
    public TrainerFactory factory() {
        try {
            return Trainers.find(trainer == null && jar == null ? DjlTrainerFactory.NAME : trainer, jar);
        } catch (TrainerException e) {
            throw new CliException(e.getMessage(), e);
        }
    }

    /**
     * What the data's label holds for the chosen task ({@code --task} or {@code --trainer-option task=}): classes for
     * classification and binary, targets for regression; null when no task was given (the data decides).
     */
    public io.pqfl.client.data.DataSpec.Task dataTask() {
        String t = task != null ? task : options.get("task");
        if (t == null) {
            return null;
        }
        try {
            return io.pqfl.client.train.TaskKind.parse(t).regression() ? io.pqfl.client.data.DataSpec.Task.REGRESSION
                    : io.pqfl.client.data.DataSpec.Task.CLASSIFICATION;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Whether the chosen trainer is the built-in DJL one (whose options the data options fill in). */
    public boolean djl() {
        return jar == null && (trainer == null || trainer.equals(DjlTrainerFactory.NAME));
    }

    /**
     * The trainer's options: {@code --trainer-option}s and {@code --task}, over {@code defaults} (which they override).
     * {@code --task} and {@code --trainer-option task=} together is an error.
     */
    public Map<String, String> options(Map<String, String> defaults) {
        Map<String, String> out = new LinkedHashMap<>(defaults);
        out.putAll(options);
        if (task != null) {
            try {
                io.pqfl.client.train.TaskKind.parse(task);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--task: " + e.getMessage());
            }
            if (options.containsKey("task")) {
                throw new UsageException("--task and --trainer-option task=... both given: give one");
            }
            out.put("task", task);
        }
        return out;
    }
}
