package io.pqfl.app.keys;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.TrustStore;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pqfl trust}: manage a coordinator's trust directory. */
@Command(name = "trust", mixinStandardHelpOptions = true, description = "Manage a trust directory of client public keys.",
        subcommands = {TrustCommand.Add.class, TrustCommand.Revoke.class, TrustCommand.ListClients.class})
public final class TrustCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Enroll a client's public key.")
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--trust-dir", required = true, paramLabel = "DIR", description = "The trust directory.")
        Path dir;
        @Parameters(index = "0", paramLabel = "CLIENT-ID", description = "The client's id.")
        String clientId;
        @Parameters(index = "1", paramLabel = "PUBLIC-KEY", description = "The client's .pub file.")
        Path publicKey;

        @Override
        public Integer call() throws Exception {
            ClientId id = clientId(clientId);
            var client = TrustStore.open(dir).add(id, KeyPem.readVerifyingKey(publicKey));
            spec.commandLine().getOut().printf("Enrolled %s with %s key %s%n", id, client.key().scheme(), client.key().keyId());
            spec.commandLine().getOut().flush();
            return Cli.OK;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a client's current key.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--trust-dir", required = true, paramLabel = "DIR", description = "The trust directory.")
        Path dir;
        @Option(names = "--reason", defaultValue = "unspecified", description = "Why (recorded in revoked.txt).")
        String reason;
        @Parameters(paramLabel = "CLIENT-ID", description = "The client whose key to revoke.")
        String clientId;

        @Override
        public Integer call() throws Exception {
            ClientId id = clientId(clientId);
            TrustStore store = TrustStore.open(dir);
            store.revoke(id, reason);
            spec.commandLine().getOut().printf("Revoked key %s of %s%n", store.find(id).orElseThrow().key().keyId(), id);
            spec.commandLine().getOut().flush();
            return Cli.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List enrolled clients.")
    static final class ListClients implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--trust-dir", required = true, paramLabel = "DIR", description = "The trust directory.")
        Path dir;

        @Override
        public Integer call() throws Exception {
            PrintWriter w = spec.commandLine().getOut();
            for (var c : TrustStore.open(dir).clients()) {
                w.printf("%-24s %-19s %s%s%n", c.clientId(), c.key().scheme(), c.key().keyId(), c.revoked() ? "  REVOKED" : "");
            }
            w.flush();
            return Cli.OK;
        }
    }

    private static ClientId clientId(String value) {
        try {
            return new ClientId(value);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
    }
}
