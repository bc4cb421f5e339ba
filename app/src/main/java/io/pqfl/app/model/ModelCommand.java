package io.pqfl.app.model;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.UsageException;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.ModelFileFormat;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.store.SafeTensors;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TensorSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl model init|export|verify}: write a federation's initial model as safetensors, export a signed global
 * model as safetensors with its signed statement, and check such a pair offline. None of them needs DJL, so they
 * also run on a coordinator host (docs/MODELS.md).
 */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = "Model files: create an initial model, export a signed global model, verify an export.",
        subcommands = {ModelCommand.Init.class, ModelCommand.Export.class, ModelCommand.Verify.class})
public final class ModelCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    /** Where an initial model comes from: exactly one. */
    static final class Source {
        @Option(names = "--builtin", paramLabel = "NAME", description = "A fresh built-in model: mlp, cnn, mlp-large.")
        String builtin;

        @Option(names = "--from-safetensors", paramLabel = "FILE",
                description = "A safetensors file (e.g. saved with safetensors.torch.save_file): checked and normalised.")
        Path safetensors;

        @Option(names = "--torchscript", paramLabel = "FILE", description = "A TorchScript module (.pt): its parameters "
                + "(needs --input-shape).")
        Path torchscript;
    }

    @Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Write an initial model as a safetensors file, for `pqfl coordinator --initial-model FILE`.",
                "Every tensor must be float32; the file's tensor order is the federation's manifest order."})
    static final class Init implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Source source;

        @Option(names = "--seed", defaultValue = "1", description = "Seed of a built-in model's initial weights (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--input-shape", split = ",", paramLabel = "D", description = "With --torchscript: one example's "
                + "shape without the batch dimension, e.g. 1,28,28.")
        int[] inputShape;

        @Option(names = "--architecture", paramLabel = "LABEL",
                description = "The manifest's architecture label (default: the built-in model's name, the file's "
                        + SafeTensors.ARCHITECTURE_KEY + " metadata, or '" + SafeTensors.DEFAULT_ARCHITECTURE + "').")
        String architecture;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
        Path out;

        @Option(names = "--force", description = "Overwrite --out if it exists.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            refuseOverwrite(out, force);
            ModelWeights weights;
            String from;
            if (source.builtin != null) {
                try {
                    weights = ModelCatalog.byId(source.builtin).initialWeights(seed);
                } catch (IllegalArgumentException e) {
                    throw new CliException(e.getMessage());
                }
                from = "built-in " + weights.manifest().architecture() + ", seed " + seed;
            } else if (source.safetensors != null) {
                if (ModelFileFormat.detect(source.safetensors) != ModelFileFormat.SAFETENSORS) {
                    throw new CliException(source.safetensors + ": not a safetensors file");
                }
                weights = ModelFileFormat.readWeights(source.safetensors);
                from = source.safetensors.toString();
            } else {
                if (inputShape == null) {
                    throw new UsageException("--torchscript needs --input-shape (one example's shape, e.g. 1,28,28)");
                }
                try {
                    weights = TorchScriptWeights.read(source.torchscript, inputShape);
                } catch (NoClassDefFoundError e) {
                    throw new CliException("--torchscript needs DJL and libtorch, which the coordinator host's jar leaves "
                            + "out: run it with the full pqfl launcher, or export the module's state_dict with "
                            + "safetensors and use --from-safetensors FILE");
                }
                from = source.torchscript.toString();
            }
            if (architecture != null) {
                weights = relabel(weights, architecture);
            }
            SafeTensors.write(out, weights, Map.of());
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Wrote %s (from %s)%n", out, from);
            summary(w, weights);
            w.flush();
            return Cli.OK;
        }

        private static ModelWeights relabel(ModelWeights weights, String label) {
            if (label.isEmpty() || label.length() > 128 || !label.chars().allMatch(c -> c > 32 && c < 127)) {
                throw new CliException("--architecture must be 1-128 printable ASCII characters without spaces");
            }
            float[][] values = new float[weights.tensorCount()][];
            for (int i = 0; i < values.length; i++) {
                values[i] = weights.tensor(i);
            }
            return ModelWeights.of(new ModelManifest(label, weights.manifest().tensors()), values);
        }
    }

    /** Which checkpoint to export: the latest (neither option), a round, or a file. */
    static final class Which {
        @Option(names = "--round", paramLabel = "N", description = "The global model of round N (0: the initial model).")
        Long round;

        @Option(names = "--checkpoint", paramLabel = "FILE", description = "A checkpoint file (model-NNNNNN.pqfl).")
        Path checkpoint;
    }

    @Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Write a coordinator's signed global model as safetensors (loadable in PyTorch as is), and beside",
                "it FILE.statement.json: the coordinator's signed model statement, for `pqfl model verify`."})
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data-dir", paramLabel = "DIR", description = "The coordinator's data directory (default: the latest checkpoint in it).")
        Path dataDir;

        @ArgGroup(exclusive = true)
        Which which;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
        Path out;

        @Option(names = "--force", description = "Overwrite --out and its statement file if they exist.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            Path checkpoint = checkpoint();
            Path statementFile = StatementFile.beside(out);
            refuseOverwrite(out, force);
            refuseOverwrite(statementFile, force);
            if (ModelFileFormat.detect(checkpoint) != ModelFileFormat.PQFL) {
                throw new CliException(checkpoint + ": not a pqfl checkpoint");
            }
            ModelFiles.Stored stored = ModelFiles.read(checkpoint);
            SignedModel signed = stored.signature();
            if (signed == null) {
                throw new CliException(checkpoint + ": holds no signed model statement (is it a checkpoint?)");
            }
            PayloadDigest digest = stored.weights().digest();
            if (!signed.statement().modelDigest().matches(digest)) {
                throw new CliException(checkpoint + ": its tensors do not match the digest its statement signs (signed "
                        + signed.statement().modelDigest() + ", file " + digest + "); the checkpoint is damaged");
            }
            ModelStatement s = signed.statement();
            SafeTensors.write(out, stored.weights(), Map.of("pqfl.federation", s.federationId(),
                    "pqfl.round", Long.toString(s.modelRound()), "pqfl.model_digest", s.modelDigest().hex()));
            StatementFile.write(statementFile, signed, stored.weights().manifest());
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Wrote %s: the round %d global model of federation %s%n", out, s.modelRound(), s.federationId());
            w.printf("Wrote %s: its statement, signed by coordinator key %s (%s)%n", statementFile,
                    s.coordinatorKeyId().hex(), s.scheme().displayName());
            summary(w, stored.weights());
            w.flush();
            return Cli.OK;
        }

        private Path checkpoint() throws IOException {
            if (which != null && which.checkpoint != null) {
                return which.checkpoint;
            }
            if (dataDir == null) {
                throw new CliException("give --data-dir DIR (with --round N or for the latest model) or --checkpoint FILE");
            }
            DataDirectory data = DataDirectory.of(dataDir);
            if (which != null && which.round != null) {
                Path file = data.checkpoint(which.round);
                if (!Files.isRegularFile(file)) {
                    throw new CliException(dataDir + ": no checkpoint of round " + which.round + " (expected " + file + ")");
                }
                return file;
            }
            if (!Files.isDirectory(data.checkpoints())) {
                throw new CliException(dataDir + ": no checkpoints here (expected " + data.checkpoints() + ")");
            }
            try (Stream<Path> files = Files.list(data.checkpoints())) {
                OptionalLong latest = files.map(DataDirectory::checkpointRound).filter(OptionalLong::isPresent)
                        .mapToLong(OptionalLong::getAsLong).max();
                if (latest.isEmpty()) {
                    throw new CliException(dataDir + ": no checkpoints in " + data.checkpoints());
                }
                return data.checkpoint(latest.getAsLong());
            }
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Check offline that a safetensors model is the global model a coordinator signed: recompute its",
                "digest (manifest and tensor bytes, as the coordinator does), compare it with the signed statement, and",
                "verify the coordinator's post-quantum signature with its pinned public key. Exit 1 on any difference."})
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "The model (.safetensors), as written by `pqfl model export`.")
        Path model;

        @Option(names = "--statement", paramLabel = "FILE", description = "Its statement (default: FILE" + StatementFile.SUFFIX + ").")
        Path statement;

        @Option(names = "--coordinator-key", required = true, paramLabel = "FILE",
                description = "The coordinator's public key (PEM), obtained from the operator, not from beside the model.")
        Path coordinatorKey;

        @Option(names = "--federation", paramLabel = "ID", description = "Also require the statement to be for this federation.")
        String federation;

        @Override
        public Integer call() throws Exception {
            VerifyingKey key = KeyPem.readVerifyingKey(coordinatorKey);
            Path statementPath = statement != null ? statement : StatementFile.beside(model);
            StatementFile.Read read = StatementFile.read(statementPath);
            ModelStatement s = read.signed().statement();
            PrintWriter err = spec.commandLine().getErr();
            if (!s.coordinatorKeyId().equals(key.keyId()) || s.scheme() != key.scheme()) {
                return failed(err, "the statement is signed by coordinator key " + s.coordinatorKeyId().hex() + " ("
                        + s.scheme().displayName() + "), not by the key in " + coordinatorKey + " (" + key.keyId().hex()
                        + ", " + key.scheme().displayName() + ")");
            }
            try {
                Verifier.create(key).verify(read.encoded(), read.signed().signature());
            } catch (SignatureVerificationException e) {
                return failed(err, "the coordinator's signature over the statement in " + statementPath
                        + " does not verify with " + coordinatorKey + ": the statement or its signature was altered");
            }
            if (federation != null && !federation.equals(s.federationId())) {
                return failed(err, "the statement is for federation " + s.federationId() + ", not " + federation);
            }
            ModelWeights weights = SafeTensors.read(model).weights();
            PayloadDigest digest = weights.digest();
            if (!s.modelDigest().matches(digest)) {
                return failed(err, "the digest of " + model + " (" + digest.hex() + ") is not the signed model digest ("
                        + s.modelDigest().hex() + "): " + diagnose(weights.manifest(), StatementFile.listedManifest(read.manifest())));
            }
            PrintWriter w = spec.commandLine().getOut();
            w.printf("OK: %s is the round %d global model of federation %s%n", model, s.modelRound(), s.federationId());
            w.printf("model digest %s%n", digest.hex());
            w.printf("signed by coordinator key %s (%s), with %d aggregated updates in its receipt%n",
                    s.coordinatorKeyId().hex(), s.scheme().displayName(), s.receipt().size());
            w.flush();
            return Cli.OK;
        }

        /** Why the digests differ, as far as the (unsigned) manifest listed in the statement file can tell. */
        private static String diagnose(ModelManifest file, ModelManifest listed) {
            if (listed == null) {
                return "different tensors or tampered tensor data";
            }
            if (!file.sameTensors(listed)) {
                return "different tensors than the exported model (" + listed.describeMismatch(file) + ")";
            }
            if (!file.architecture().equals(listed.architecture())) {
                return "the architecture label '" + file.architecture() + "' differs from the exported model's '"
                        + listed.architecture() + "' (was the file saved again without its " + SafeTensors.ARCHITECTURE_KEY
                        + " metadata?)";
            }
            return "the tensors' names and shapes are the exported model's, so their data differs: the tensor data was "
                    + "tampered with or modified";
        }

        private static int failed(PrintWriter err, String why) {
            err.println("FAILED: " + why);
            err.flush();
            return Cli.FAILED;
        }
    }

    static void refuseOverwrite(Path file, boolean force) {
        if (!force && Files.exists(file)) {
            throw new CliException(file + " already exists; refusing to overwrite it (give --force)");
        }
    }

    static void summary(PrintWriter w, ModelWeights weights) {
        ModelManifest m = weights.manifest();
        w.printf("architecture %s: %d tensors, %d parameters, %d bytes (float32)%n", m.architecture(),
                m.tensors().size(), m.totalElements(), m.totalBytes());
        for (TensorSpec t : m.tensors()) {
            w.printf("  %-40s %-8s %s%n", t.name(), t.dtype().wireName(), t.shape());
        }
        w.printf("model digest %s%n", weights.digest().hex());
    }
}
