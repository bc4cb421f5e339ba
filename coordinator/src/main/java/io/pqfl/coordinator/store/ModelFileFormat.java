package io.pqfl.coordinator.store;

import io.pqfl.protocol.ModelWeights;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The two formats a model file may have, told apart by content (not by the file's extension): pqfl's own
 * ({@link ModelFiles}, starting {@code "PQFLMODL"}) and safetensors ({@link SafeTensors}).
 */
public enum ModelFileFormat {
    /** A pqfl model file: a checkpoint, strategy state or spooled update. */
    PQFL,
    /** A safetensors file, e.g. saved by PyTorch or written by {@code pqfl model init|export}. */
    SAFETENSORS;

    private static final byte[] PQFL_MAGIC = "PQFLMODL".getBytes(StandardCharsets.US_ASCII);

    /** The format of {@code file}; an {@link IOException} naming the file when it is neither. */
    public static ModelFileFormat detect(Path file) throws IOException {
        byte[] start;
        try (InputStream in = Files.newInputStream(file)) {
            start = in.readNBytes(PQFL_MAGIC.length);
        }
        if (Arrays.equals(start, PQFL_MAGIC)) {
            return PQFL;
        }
        if (SafeTensors.looksLikeSafeTensors(file)) {
            return SAFETENSORS;
        }
        throw new IOException(file + ": neither a pqfl model file nor a safetensors file");
    }

    /**
     * Reads a model from a file of either format (a pqfl file's signature, if any, is not checked or returned),
     * refusing one with a NaN or infinite value, naming the tensor: no federation can start from it, since every
     * update built on it would be refused.
     */
    public static ModelWeights readWeights(Path file) throws IOException {
        ModelWeights weights = switch (detect(file)) {
            case PQFL -> ModelFiles.read(file).weights();
            case SAFETENSORS -> SafeTensors.read(file).weights();
        };
        int bad = weights.firstNonFiniteTensor();
        if (bad >= 0) {
            throw new IOException(file + ": tensor " + weights.manifest().tensors().get(bad).name()
                    + " holds a NaN or infinite value");
        }
        return weights;
    }
}
