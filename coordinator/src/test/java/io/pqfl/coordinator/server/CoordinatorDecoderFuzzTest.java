package io.pqfl.coordinator.server;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.proto.v1.UpdateHeader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the coordinator's own decoders: model files read back from disk
 * (checkpoints, spooled updates) and update headers from the wire. Each may refuse input only with its
 * documented exception.
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
        boolean modelFile = data.consumeBoolean();
        byte[] input = data.consumeRemainingAsBytes();
        if (modelFile) {
            Files.write(FILE, input);
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
        } else {
            try {
                FederationService.decode(UpdateHeader.parseFrom(input));
            } catch (InvalidProtocolBufferException | IllegalArgumentException refused) {
                // not a header, or a header with invalid fields (MALFORMED)
            }
        }
    }
}
