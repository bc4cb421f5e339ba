package io.pqfl.client.agent;

import io.pqfl.crypto.KeyId;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Properties;

/**
 * What a client remembers about each federation it served, across restarts: the newest round whose task it
 * accepted and the newest global model round it trained on. A task for an older round, or a model older than
 * one it has already seen, is refused, so an on-path attacker cannot replay an old (validly signed) task or
 * model. Entries are keyed by federation id and the pinned coordinator key, so a federation started afresh with
 * a new coordinator key starts afresh here too. Kept in a small properties file, replaced atomically.
 */
public final class ClientState {
    private final Path file;
    private final Properties values = new Properties();

    private ClientState(Path file) {
        this.file = file;
    }

    /** State that lives as long as the agent (tests, simulations). */
    public static ClientState inMemory() {
        return new ClientState(null);
    }

    /** State kept in {@code file} (created when first written). */
    public static ClientState load(Path file) throws IOException {
        ClientState s = new ClientState(Objects.requireNonNull(file, "file"));
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                s.values.load(in);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": not a pqfl client state file: " + e.getMessage(), e);
            }
        }
        return s;
    }

    public Path file() {
        return file;
    }

    private static String key(String federationId, KeyId coordinatorKey, String what) {
        return federationId + "/" + coordinatorKey.hex() + "/" + what;
    }

    public synchronized long newestTaskRound(String federationId, KeyId coordinatorKey) {
        return read(key(federationId, coordinatorKey, "task_round"));
    }

    public synchronized long newestModelRound(String federationId, KeyId coordinatorKey) {
        return read(key(federationId, coordinatorKey, "model_round"));
    }

    private long read(String key) {
        String v = values.getProperty(key);
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalStateException((file == null ? "client state" : file.toString()) + ": " + key
                    + " is not a number: " + v);
        }
    }

    /** Records an accepted task (and its model) and, for a file-backed state, writes it before training starts. */
    public synchronized void accepted(String federationId, KeyId coordinatorKey, long taskRound, long modelRound)
            throws IOException {
        values.setProperty(key(federationId, coordinatorKey, "task_round"),
                Long.toString(Math.max(taskRound, newestTaskRound(federationId, coordinatorKey))));
        values.setProperty(key(federationId, coordinatorKey, "model_round"),
                Long.toString(Math.max(modelRound, newestModelRound(federationId, coordinatorKey))));
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            values.store(out, "pqfl client state: newest task and model round accepted per federation");
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
