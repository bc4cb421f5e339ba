package io.pqfl.coordinator.identity;

import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.TrustStoreException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes changes to a running coordinator's trust directory take effect within seconds: the directory's
 * listing (names, sizes, modification times) is compared every interval, and when it changed the trust store
 * is reloaded and {@code onChange} runs (ending the sessions of revoked clients). A bad file keeps the
 * previous contents in force, with a warning naming it; the next change is tried again.
 */
public final class TrustDirectoryWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TrustDirectoryWatcher.class);

    private final TrustStore trust;
    private final Runnable onChange;
    private String lastListing;
    private ScheduledFuture<?> task;

    public TrustDirectoryWatcher(TrustStore trust, Runnable onChange) {
        this.trust = Objects.requireNonNull(trust, "trust");
        this.onChange = Objects.requireNonNull(onChange, "onChange");
        this.lastListing = listing();
    }

    public synchronized void start(ScheduledExecutorService timer, Duration interval) {
        task = timer.scheduleWithFixedDelay(this::check, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Reloads the trust store if the directory changed since the last look; true when it was reloaded. */
    public synchronized boolean check() {
        String now = listing();
        if (now.equals(lastListing)) {
            return false;
        }
        lastListing = now;
        try {
            trust.reload();
        } catch (IOException | TrustStoreException e) {
            log.warn("Trust directory {} changed but cannot be reloaded; the previous keys stay in force: {}",
                    trust.directory(), e.getMessage());
            return false;
        }
        log.info("Trust directory {} reloaded: {} clients, {} revoked keys", trust.directory(), trust.clients().size(),
                trust.revokedKeys().size());
        try {
            onChange.run();
        } catch (RuntimeException e) {
            log.warn("After reloading the trust directory", e);
        }
        return true;
    }

    private String listing() {
        TreeMap<String, String> entries = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(trust.directory())) {
            for (Path f : files) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                entries.put(f.getFileName().toString(), a.size() + "@" + a.lastModifiedTime().toMillis() + "/" + a.fileKey());
            }
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
        return entries.toString();
    }

    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(false);
        }
    }
}
