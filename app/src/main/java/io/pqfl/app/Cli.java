package io.pqfl.app;

import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.TrustStoreException;
import io.pqfl.crypto.WrongPasswordException;
import io.pqfl.crypto.pki.PkiException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.sql.SQLException;
import picocli.CommandLine;

/**
 * Shared command-line plumbing for every {@code pqfl} command: exit codes, the scheme converter, and the
 * one place where expected failures become a one-line message instead of a stack trace.
 */
public final class Cli {
    /** Success. */
    public static final int OK = 0;
    /** The command ran and failed: bad file, wrong password, verification failure. */
    public static final int FAILED = 1;
    /** The command line was wrong (picocli's own code for usage errors). */
    public static final int USAGE = 2;

    private Cli() {
    }

    /** A {@link CommandLine} with pqfl's converters and error handling. */
    public static CommandLine commandLine(Object command) {
        CommandLine cmd = new CommandLine(command);
        cmd.registerConverter(SignatureScheme.class, Cli::parseScheme);
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            String message = describe(ex);
            if (message == null) {
                throw ex;
            }
            commandLine.getErr().println("error: " + message);
            return ex instanceof UsageException ? USAGE : FAILED;
        });
        return cmd;
    }

    /**
     * Runs {@code cmd} on {@code args} as a {@code main} does: {@code --config FILE} defaults first (a bad file is a
     * usage error), then the command; returns the exit code.
     */
    public static int run(CommandLine cmd, String[] args) {
        try {
            ConfigFileDefaults.install(cmd, args);
        } catch (CliException e) {
            cmd.getErr().println("error: " + e.getMessage());
            cmd.getErr().flush();
            return USAGE;
        }
        return cmd.execute(args);
    }

    static SignatureScheme parseScheme(String value) {
        try {
            return SignatureScheme.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    /** A one-line description of an expected failure, or null for a bug (which then shows its stack trace). */
    static String describe(Throwable ex) {
        Throwable e = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        if (e instanceof CliException
                || e instanceof KeyFormatException
                || e instanceof WrongPasswordException
                || e instanceof TrustStoreException
                || e instanceof PkiException) {
            return e.getMessage();
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + " already exists; refusing to overwrite it";
        }
        if (e instanceof NoSuchFileException f) {
            return f.getFile() + ": no such file";
        }
        if (e instanceof AccessDeniedException f) {
            return f.getFile() + ": permission denied";
        }
        if (e instanceof FileSystemException f) {
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : "cannot access it");
        }
        if (e instanceof IOException || e instanceof SQLException) {
            return e.getMessage();
        }
        return null;
    }
}
