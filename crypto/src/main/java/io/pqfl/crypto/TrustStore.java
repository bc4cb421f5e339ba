package io.pqfl.crypto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory of trusted public keys: one PEM file per client, named {@code <client-id>.pub}, plus a
 * revocation list {@code revoked.txt} of key ids ({@code <key-id> <client-id> <instant> <reason>} per line).
 *
 * <p>Revocation is by key id, so a client whose key was revoked can be enrolled again with a new key. A
 * {@link #reload()} that meets a bad file keeps the previous contents and throws, naming the file: a typo
 * in the directory never silently drops trust. Thread-safe; lookups never block on a reload.
 */
public final class TrustStore {
    public static final String REVOCATION_FILE = "revoked.txt";
    private static final String SUFFIX = ".pub";
    /** The order of {@link #clients()}: by client id. */
    private static final java.util.Comparator<ClientId> BY_ID = java.util.Comparator.comparing(ClientId::value);
    private static final Logger log = LoggerFactory.getLogger(TrustStore.class);

    /** A client and its key as the store knows them. */
    public record TrustedClient(ClientId clientId, VerifyingKey key, boolean revoked) {
        public TrustedClient {
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(key, "key");
        }
    }

    private record Snapshot(Map<ClientId, TrustedClient> byClient, Map<KeyId, TrustedClient> byKey) {
    }

    private final Path directory;
    private final Clock clock;
    private volatile Snapshot snapshot = new Snapshot(Map.of(), Map.of());

    private TrustStore(Path directory, Clock clock) {
        this.directory = directory;
        this.clock = clock;
    }

    /** Opens (creating if needed) a trust directory and loads it. */
    public static TrustStore open(Path directory) throws IOException, TrustStoreException {
        return open(directory, Clock.systemUTC());
    }

    public static TrustStore open(Path directory, Clock clock) throws IOException, TrustStoreException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(clock, "clock");
        OwnerOnly.createDirectories(directory);
        TrustStore store = new TrustStore(directory, clock);
        store.reload();
        log.info("Trust store {}: {} clients, {} revoked", directory, store.clients().size(), store.revokedKeys().size());
        return store;
    }

    public Path directory() {
        return directory;
    }

    /** Re-reads the directory. On any bad file the previous contents stay in force and this throws. */
    public synchronized void reload() throws IOException, TrustStoreException {
        Map<KeyId, String> revoked = readRevocations();
        Map<ClientId, TrustedClient> byClient = new TreeMap<>(BY_ID);
        Map<KeyId, TrustedClient> byKey = new HashMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String id = name.substring(0, name.length() - SUFFIX.length());
                if (!ClientId.isValid(id)) {
                    throw new TrustStoreException(file + ": file name is not a valid client id");
                }
                VerifyingKey key;
                try {
                    key = KeyPem.readVerifyingKey(file);
                } catch (KeyFormatException e) {
                    throw new TrustStoreException(e.getMessage(), e);
                }
                TrustedClient client = new TrustedClient(new ClientId(id), key, revoked.containsKey(key.keyId()));
                TrustedClient clash = byKey.putIfAbsent(key.keyId(), client);
                if (clash != null) {
                    throw new TrustStoreException(file + ": key " + key.keyId() + " is already the key of client "
                            + clash.clientId() + "; one key, one client");
                }
                byClient.put(client.clientId(), client);
            }
        }
        snapshot = new Snapshot(Collections.unmodifiableMap(byClient), Map.copyOf(byKey));
        log.debug("Trust store {}: {} clients, {} revoked keys", directory, byClient.size(), revoked.size());
    }

    private Map<KeyId, String> readRevocations() throws IOException, TrustStoreException {
        Path file = directory.resolve(REVOCATION_FILE);
        Map<KeyId, String> revoked = new HashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return revoked;
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String first = line.split("\\s+", 2)[0];
            try {
                revoked.put(new KeyId(first), line);
            } catch (IllegalArgumentException e) {
                throw new TrustStoreException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return revoked;
    }

    /** The client with this id, revoked or not; empty when unknown. */
    public Optional<TrustedClient> find(ClientId clientId) {
        return Optional.ofNullable(snapshot.byClient().get(Objects.requireNonNull(clientId, "clientId")));
    }

    /** The client whose key has this id, revoked or not; empty when unknown. */
    public Optional<TrustedClient> findByKeyId(KeyId keyId) {
        return Optional.ofNullable(snapshot.byKey().get(Objects.requireNonNull(keyId, "keyId")));
    }

    /** All clients, by id. */
    public List<TrustedClient> clients() {
        return List.copyOf(snapshot.byClient().values());
    }

    /**
     * Adds a client: writes {@code <client-id>.pub}. Refuses when the client or the key is already known.
     */
    public synchronized TrustedClient add(ClientId clientId, VerifyingKey key) throws IOException, TrustStoreException {
        return addAll(Map.of(Objects.requireNonNull(clientId, "clientId"), Objects.requireNonNull(key, "key"))).get(0);
    }

    /**
     * Adds clients: writes each {@code <client-id>.pub} and adds them to what the store holds, without reading the
     * directory again (so adding n clients reads no key file; re-reading after each of 10,000 clients would parse ~50 million).
     * Refuses, before writing any file, when a client or a key is already known or a key is given for two clients. A
     * file written before an I/O error stays, and the store holds it.
     */
    public synchronized List<TrustedClient> addAll(Map<ClientId, VerifyingKey> clients)
            throws IOException, TrustStoreException {
        Map<KeyId, ClientId> keys = new HashMap<>();
        for (Map.Entry<ClientId, VerifyingKey> e : clients.entrySet()) {
            ClientId clientId = Objects.requireNonNull(e.getKey(), "clientId");
            KeyId keyId = Objects.requireNonNull(e.getValue(), "key").keyId();
            if (find(clientId).isPresent()) {
                throw new TrustStoreException("client " + clientId + " is already in " + directory);
            }
            Optional<TrustedClient> holder = findByKeyId(keyId);
            if (holder.isPresent()) {
                throw new TrustStoreException("key " + keyId + " already belongs to client " + holder.get().clientId());
            }
            ClientId other = keys.putIfAbsent(keyId, clientId);
            if (other != null) {
                throw new TrustStoreException("key " + keyId + " is given for both " + other + " and " + clientId
                        + "; one key, one client");
            }
        }
        Map<KeyId, String> revoked = readRevocations();
        Map<ClientId, TrustedClient> byClient = new TreeMap<>(BY_ID);
        byClient.putAll(snapshot.byClient());
        Map<KeyId, TrustedClient> byKey = new HashMap<>(snapshot.byKey());
        List<TrustedClient> added = new ArrayList<>();
        try {
            for (Map.Entry<ClientId, VerifyingKey> e : clients.entrySet()) {
                KeyPem.writeVerifyingKey(e.getValue(), directory.resolve(e.getKey().value() + SUFFIX));
                TrustedClient client = new TrustedClient(e.getKey(), e.getValue(), revoked.containsKey(e.getValue().keyId()));
                byClient.put(client.clientId(), client);
                byKey.put(client.key().keyId(), client);
                added.add(client);
            }
        } finally {
            snapshot = new Snapshot(Collections.unmodifiableMap(byClient), Map.copyOf(byKey));
        }
        return added;
    }

    /** Revokes the client's current key; later lookups report it revoked. Idempotent. */
    public synchronized void revoke(ClientId clientId, String reason) throws IOException, TrustStoreException {
        TrustedClient client = find(clientId).orElseThrow(
                () -> new TrustStoreException("no client " + clientId + " in " + directory));
        if (client.revoked()) {
            return;
        }
        String cleanReason = reason == null || reason.isBlank() ? "unspecified" : reason.replaceAll("[\\r\\n]+", " ");
        String line = client.key().keyId() + " " + clientId + " " + clock.instant() + " " + cleanReason + "\n";
        Files.writeString(directory.resolve(REVOCATION_FILE), line, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        reload();
    }

    /** Ids of all revoked keys currently known. */
    public List<KeyId> revokedKeys() {
        List<KeyId> out = new ArrayList<>();
        for (TrustedClient c : snapshot.byClient().values()) {
            if (c.revoked()) {
                out.add(c.key().keyId());
            }
        }
        return out;
    }
}
