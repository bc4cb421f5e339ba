package io.pqfl.coordinator.store;

import io.pqfl.crypto.OwnerOnly;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.WeightsReceiver;
import io.pqfl.protocol.WireMapping;
import io.pqfl.proto.v1.ModelSignature;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Model files on disk: checkpoints (a signed global model), strategy state and spooled updates. Format:
 * {@code "PQFLMODL"}, u16 version 1, the manifest, an optional length-prefixed {@code ModelSignature}
 * message (length 0 when absent; when present it carries a version 2 model statement, ledger head
 * included), then the wire bytes. Files are written to a temporary name, synced and
 * renamed, so a crash never leaves a half-written file under the final name.
 */
public final class ModelFiles {
    private static final byte[] MAGIC = "PQFLMODL".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int MAX_SIGNATURE_MESSAGE = 1 << 20;

    private ModelFiles() {
    }

    /** What a model file holds. */
    public record Stored(ModelWeights weights, SignedModel signature) {
    }

    public static void write(Path file, ModelWeights weights, SignedModel signature) throws IOException {
        OwnerOnly.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp); // a leftover from a crash: the new file must be created owner-only
        try (FileChannel ch = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                OwnerOnly.file());
             OutputStream raw = java.nio.channels.Channels.newOutputStream(ch);
             DataOutputStream out = new DataOutputStream(new BufferedOutputStream(raw, 1 << 16))) {
            out.write(MAGIC);
            out.writeShort(1);
            writeManifest(out, weights.manifest());
            byte[] sig = signature == null ? new byte[0] : WireMapping.toWire(signature).toByteArray();
            out.writeInt(sig.length);
            out.write(sig);
            IOException[] failure = new IOException[1];
            weights.writeChunks(1 << 16, chunk -> {
                try {
                    out.write(chunk);
                } catch (IOException e) {
                    failure[0] = e;
                }
            });
            if (failure[0] != null) {
                throw failure[0];
            }
            out.flush();
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Reads a model file; throws {@link IOException} naming the file when it is truncated or corrupt. */
    public static Stored read(Path file) throws IOException {
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
            ModelManifest manifest = readHeader(file, in);
            SignedModel signature = readSignature(file, in);
            WeightsReceiver receiver = new WeightsReceiver(manifest);
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                receiver.accept(java.nio.ByteBuffer.wrap(buffer, 0, n));
            }
            if (!receiver.isComplete()) {
                throw new IOException(file + ": truncated (" + receiver.receivedBytes() + " of "
                        + manifest.totalBytes() + " tensor bytes)");
            }
            return new Stored(receiver.weights(), signature);
        } catch (EOFException e) {
            throw new IOException(file + ": truncated", e);
        } catch (WeightsReceiver.OverflowException | IllegalArgumentException e) {
            throw new IOException(file + ": corrupt: " + e.getMessage(), e);
        }
    }

    /**
     * Reads only a model file's signature (a checkpoint's signed model statement), not its tensors; null when
     * the file carries none. Throws {@link IOException} naming the file when it is truncated or corrupt.
     */
    public static SignedModel readSignature(Path file) throws IOException {
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
            readHeader(file, in);
            return readSignature(file, in);
        } catch (EOFException e) {
            throw new IOException(file + ": truncated", e);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": corrupt: " + e.getMessage(), e);
        }
    }

    private static ModelManifest readHeader(Path file, DataInputStream in) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || in.readUnsignedShort() != 1) {
            throw new IOException(file + ": not a pqfl model file (version 1)");
        }
        return readManifest(in);
    }

    private static SignedModel readSignature(Path file, DataInputStream in) throws IOException {
        int sigLength = in.readInt();
        if (sigLength < 0 || sigLength > MAX_SIGNATURE_MESSAGE) {
            throw new IOException(file + ": corrupt signature length " + sigLength);
        }
        byte[] sig = in.readNBytes(sigLength);
        if (sig.length != sigLength) {
            throw new EOFException();
        }
        if (sigLength == 0) {
            return null;
        }
        ModelSignature message = ModelSignature.parseFrom(sig);
        if (message.getLedgerHead().isEmpty()) {
            throw new IOException(file + ": signed with a version 1 model statement (no ledger head), which this "
                    + "version of pqfl no longer accepts; start a new data directory");
        }
        return WireMapping.fromWire(message);
    }

    private static void writeManifest(DataOutputStream out, ModelManifest m) throws IOException {
        out.writeUTF(m.architecture());
        out.writeInt(m.tensors().size());
        for (TensorSpec t : m.tensors()) {
            out.writeUTF(t.name());
            out.writeInt(t.shape().size());
            for (int d : t.shape()) {
                out.writeInt(d);
            }
        }
    }

    private static ModelManifest readManifest(DataInputStream in) throws IOException {
        String arch = in.readUTF();
        int count = in.readInt();
        if (count <= 0 || count > 100_000) {
            throw new IOException("corrupt tensor count " + count);
        }
        List<TensorSpec> tensors = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            int rank = in.readInt();
            if (rank <= 0 || rank > 8) {
                throw new IOException("corrupt rank " + rank);
            }
            List<Integer> shape = new ArrayList<>();
            for (int r = 0; r < rank; r++) {
                shape.add(in.readInt());
            }
            tensors.add(new TensorSpec(name, shape));
        }
        return new ModelManifest(arch, tensors);
    }
}
