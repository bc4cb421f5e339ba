package io.pqfl.app.coordinator;

import io.pqfl.app.CliException;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.CoordinatorConfig;
import io.pqfl.coordinator.evaluate.CentralEvaluator;
import io.pqfl.coordinator.store.ModelFileFormat;
import io.pqfl.protocol.ModelManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * {@code pqfl coordinator}'s evaluation options (a picocli mixin): when clients evaluate the published model and
 * how many, and the optional central evaluation on the coordinator's own test set.
 */
final class EvaluationOptions {
    @Option(names = "--evaluate-every", defaultValue = "0", paramLabel = "N",
            description = "Clients evaluate the published model after every Nth round (default: ${DEFAULT-VALUE}: only after the last round).")
    int evaluateEvery;

    @Option(names = "--evaluate-fraction", defaultValue = "1.0", paramLabel = "F",
            description = "Share of the live clients sampled to evaluate a model (default: ${DEFAULT-VALUE}).")
    double evaluateFraction;

    @Option(names = "--min-evaluations", defaultValue = "1", paramLabel = "N",
            description = "Live clients needed before evaluators are sampled (default: ${DEFAULT-VALUE}).")
    int minEvaluations;

    @Option(names = "--central-test-data", paramLabel = "PATH",
            description = "Evaluate every published global model on this test set, on the coordinator (needs the full "
                    + "pqfl launcher: DJL); any data format a client reads (docs/DATA.md).")
    Path centralTestData;

    @Option(names = "--central-test-option", paramLabel = "KEY=VALUE",
            description = "An option of the central evaluation's DJL model and data, as a client's --trainer-option "
                    + "(model, torchscript, input-shape, block-factory, task, data-format, label-column, ...; default model: "
                    + "--model).")
    Map<String, String> centralTestOptions = new LinkedHashMap<>();

    @Option(names = "--no-final-evaluation", description = "Do not have clients evaluate the last round's model.")
    boolean noFinalEvaluation;

    /** Sets the federated evaluation's schedule and sample on {@code config}; the central evaluation is apart. */
    CoordinatorConfig.Builder federated(CoordinatorConfig.Builder config) {
        return config.evaluateEvery(evaluateEvery).evaluateFraction(evaluateFraction).minEvaluations(minEvaluations)
                .finalEvaluation(!noFinalEvaluation);
    }

    /** Whether --central-test-data asks for a central evaluation. */
    boolean central() {
        return centralTestData != null;
    }

    /**
     * The central evaluation {@code --central-test-data} asks for, on the federation's model: the one in {@code
     * initialModel}, or else the built-in {@code model} (also the evaluation's default DJL model).
     */
    CentralEvaluator centralEvaluator(String model, Path initialModel) {
        Map<String, String> options = new LinkedHashMap<>(centralTestOptions);
        if (!options.containsKey("model") && !options.containsKey("torchscript") && !options.containsKey("block-factory")) {
            options.put("model", model);
        }
        ModelManifest federation;
        try {
            federation = initialModel != null
                    ? ModelFileFormat.readWeights(initialModel).manifest()
                    : ModelCatalog.byId(model).manifest();
        } catch (IOException e) {
            throw new CliException(e.getMessage(), e);
        }
        try {
            return CentralTestSet.create(centralTestData, options, federation);
        } catch (NoClassDefFoundError e) {
            throw new CliException("--central-test-data needs DJL and libtorch, which the coordinator host's jar leaves "
                    + "out: run the coordinator with the full pqfl launcher");
        }
    }
}
