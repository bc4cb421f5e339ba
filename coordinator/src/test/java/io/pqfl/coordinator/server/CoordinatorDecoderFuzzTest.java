package io.pqfl.coordinator.server;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.pqfl.coordinator.store.ModelFileFormat;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.store.SafeTensors;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the coordinator's own decoders: model files read back from disk
 * (checkpoints, spooled updates) and safetensors files (initial models, exported models). Each may refuse input only with its documented exception. Update headers
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
        // One fuzz test per JVM is fuzzed, so one method covers both shapes of input: half the time a safetensors
        // file with a consistent header length, so the fuzzer spends its time in the header's JSON and checks.
        if (data.consumeBoolean()) {
            byte[] header = data.consumeBytes(data.consumeInt(0, 4096));
            byte[] rest = data.consumeRemainingAsBytes();
            Files.write(FILE, ByteBuffer.allocate(8 + header.length + rest.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(header.length).put(header).put(rest).array());
            try {
                SafeTensors.read(FILE);
            } catch (IOException refused) {
                // a malformed or unsupported file, named in the message
            }
            return;
        }
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
        try {
            ModelFileFormat.readWeights(FILE);
        } catch (IOException refused) {
            // neither format, or refused by its reader, named in the message
        }
    }
}
