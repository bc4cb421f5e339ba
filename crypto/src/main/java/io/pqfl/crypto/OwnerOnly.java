package io.pqfl.crypto;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files and directories that hold a federation's secrets or records (a coordinator's data directory, trust
 * directory, token files) are created readable by their owner only
 * (0600 / 0700) — created so, not created and then restricted, so there is no moment in which another local
 * user could open them. On a file system without POSIX permissions the attributes are left to it.
 */
public final class OwnerOnly {
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    private OwnerOnly() {
    }

    /** Attributes for a new file: rw-------. */
    public static FileAttribute<?>[] file() {
        return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
    }

    /** Creates {@code dir} and any missing parents as rwx------; existing directories are left as they are. */
    public static Path createDirectories(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return dir;
        }
        Path parent = abs.getParent();
        if (parent != null && !Files.exists(parent)) {
            createDirectories(parent);
        }
        try {
            if (POSIX) {
                Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectory(abs);
            }
        } catch (FileAlreadyExistsException e) {
            // another thread (a concurrent upload spooling into the same round) created it first
            if (!Files.isDirectory(abs)) {
                throw e;
            }
        }
        return dir;
    }

    /** True when {@code path} exists and neither its group nor others have any permission on it (or no POSIX). */
    public static boolean isOwnerOnly(Path path) throws IOException {
        if (!POSIX) {
            return true;
        }
        return java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE).containsAll(Files.getPosixFilePermissions(path));
    }

    /** Creates an empty owner-only file if none exists (for files another library opens, like the SQLite database). */
    public static void touch(Path file) throws IOException {
        if (!Files.exists(file)) {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                createDirectories(parent);
            }
            Files.createFile(file, file());
        }
    }
}
