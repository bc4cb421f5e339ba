package io.pqfl.coordinator.server;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pqfl.coordinator.store.ModelFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the coordinator's own decoders: model files read back from disk
 * (checkpoints, spooled updates). Each may refuse input only with its documented exception. Update headers
 * from the wire are decoded by proto's {@code WireMapping} and fuzzed there ({@code DecoderFuzzTest}).
 */
class CoordinatorDecoderFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("pqfl-fuzz", ".pqfl");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void decoders(FuzzedDataProvider data) throws IOException {
        Files.write(FILE, data.consumeRemainingAsBytes());
        try {
            ModelFiles.read(FILE);
        } catch (IOException refused) {
            // truncated or corrupt file, named in the message
        }
        try {
            // What ledger verify reads of each checkpoint: the signed model statement only.
            ModelFiles.readSignature(FILE);
        } catch (IOException refused) {
            // truncated or corrupt file, or a version 1 statement, named in the message
        }
    }
}
