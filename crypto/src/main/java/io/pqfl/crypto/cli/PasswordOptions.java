package io.pqfl.crypto.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
            try {
                String text = Files.readString(passwordFile, StandardCharsets.UTF_8);
                String first = text.lines().findFirst().orElse("");
                if (first.isEmpty()) {
                    throw new CliException(passwordFile + ": password file is empty");
                }
                return first.toCharArray();
            } catch (IOException e) {
                throw new CliException(passwordFile + ": cannot read password file: " + e.getMessage(), e);
            }
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
}
