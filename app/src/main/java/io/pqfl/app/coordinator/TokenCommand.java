package io.pqfl.app.coordinator;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.app.DurationConverter;
import io.pqfl.app.PasswordOptions;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.EnrollmentTokens;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.OwnerOnly;
import io.pqfl.crypto.SigningKey;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pqfl token}: one-time enrollment tokens in a coordinator's database. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "One-time enrollment tokens: a new client registers its own key with one (docs/IDENTITY.md).",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class})
public final class TokenCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    /** Where the coordinator keeps its database. */
    static final class Store {
        @Option(names = "--data-dir", defaultValue = "pqfl-data", paramLabel = "DIR",
                description = "The coordinator's data directory (default: ${DEFAULT-VALUE}).")
        Path dataDir;
        @Option(names = "--jdbc-url", paramLabel = "URL", description = "The coordinator's database URL, if not the SQLite default.")
        String jdbcUrl;

        Database open() throws Exception {
            OwnerOnly.createDirectories(dataDir);
            return Database.open(jdbcUrl != null ? jdbcUrl : DataDirectory.of(dataDir).jdbcUrl());
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a token for one client id; it is shown (or written) once and stored only as a digest.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @picocli.CommandLine.Mixin
        Store store;
        @Option(names = "--client-id", required = true, description = "The client that may enroll with it.")
        String clientId;
        @Option(names = "--ttl", defaultValue = "24h", converter = DurationConverter.class,
                description = "How long the token is valid (default: ${DEFAULT-VALUE}).")
        Duration ttl;
        @Option(names = "--out", paramLabel = "FILE", description = "Write the token to FILE (owner-only) instead of printing it.")
        Path out;
        @Option(names = "--key", required = true, paramLabel = "FILE",
                description = "The coordinator's private key: it signs the token's record, so nobody who can merely "
                        + "write the database can mint tokens.")
        Path key;
        @picocli.CommandLine.Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            if (!ClientId.isValid(clientId)) {
                throw new CliException("'" + clientId + "' is not a valid client id");
            }
            SigningKey coordinator = KeyPem.readSigningKey(key, password.password());
            if (out != null) {
                // Created owner-only, and before the token exists: a file that is already there costs no token.
                try {
                    Files.createFile(out, OwnerOnly.file());
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    throw new CliException(out + " already exists; not overwriting it");
                }
            }
            String token;
            try (Database db = store.open()) {
                var run = new RunStore(db, new Ledger(db, Clock.systemUTC()), Clock.systemUTC()).run();
                if (run.isPresent() && !run.get().coordinatorKeyId().equals(coordinator.keyId().hex())) {
                    if (out != null) {
                        Files.deleteIfExists(out);
                    }
                    throw new CliException(key + " is key " + coordinator.keyId() + "; the federation in " + store.dataDir
                            + " is run with coordinator key " + run.get().coordinatorKeyId());
                }
                token = new EnrollmentTokens(db, Clock.systemUTC(), new SecureRandom(), coordinator.verifyingKey())
                        .create(new ClientId(clientId), ttl, coordinator);
            }
            PrintWriter w = spec.commandLine().getOut();
            if (out != null) {
                Files.writeString(out, token + "\n", StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
                w.printf("Enrollment token for %s (valid %s) written to %s%n", clientId, ttl, out);
            } else {
                w.println(token);
            }
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List tokens (never the tokens themselves).")
    static final class ListTokens implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @picocli.CommandLine.Mixin
        Store store;

        @Override
        public Integer call() throws Exception {
            PrintWriter w = spec.commandLine().getOut();
            w.printf("%-24s %-26s %-26s %s%n", "CLIENT", "CREATED", "EXPIRES", "USED");
            try (Database db = store.open()) {
                for (var r : EnrollmentTokens.list(db)) {
                    w.printf("%-24s %-26s %-26s %s%n", r.clientId(), r.createdAt(), r.expiresAt(),
                            r.usedAt() == null ? "-" : r.usedAt() + " by key " + r.usedKeyId());
                }
            }
            w.flush();
            return Cli.OK;
        }
    }
}
