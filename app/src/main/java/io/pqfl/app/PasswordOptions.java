package io.pqfl.app;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where a key's password comes from. Never from the command line itself, where other users could read it. */
public final class PasswordOptions {
    @Option(names = "--password-file", paramLabel = "FILE",
            description = "Read the private key's password from the first line of FILE.")
    Path passwordFile;

    @Option(names = "--password-env", paramLabel = "VAR",
            description = "Read the private key's password from environment variable VAR.")
    String passwordEnv;

    /** The password, or null when none was configured. */
    public char[] password() {
        if (passwordFile != null && passwordEnv != null) {
            throw new CliException("give either --password-file or --password-env, not both");
        }
        if (passwordFile != null) {
            String text = readPasswordFile();
            String first = text.lines().findFirst().orElse("");
            if (first.isEmpty()) {
                throw new CliException(passwordFile + ": password file is empty");
            }
            return first.toCharArray();
        }
        if (passwordEnv != null) {
            String value = System.getenv(passwordEnv);
            if (value == null || value.isEmpty()) {
                throw new CliException("environment variable " + passwordEnv + " is not set or empty");
            }
            return value.toCharArray();
        }
        return null;
    }

    private String readPasswordFile() {
        if (Files.isDirectory(passwordFile)) {
            throw new CliException(passwordFile + ": is a directory, expected a password file");
        }
        try {
            return Files.readString(passwordFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CliException(passwordFile + ": no such password file", e);
        } catch (AccessDeniedException e) {
            throw new CliException(passwordFile + ": permission denied reading the password file", e);
        } catch (CharacterCodingException e) {
            throw new CliException(passwordFile + ": not a text password file (not UTF-8)", e);
        } catch (IOException e) {
            // What is left is the operating system's own words (e.g. "Input/output error").
            String reason = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
            throw new CliException(passwordFile + ": cannot read the password file (" + reason + ")", e);
        }
    }
}
