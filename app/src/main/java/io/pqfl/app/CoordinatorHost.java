package io.pqfl.app;

import io.pqfl.app.coordinator.CoordinatorCommand;
import io.pqfl.app.coordinator.LedgerCommand;
import io.pqfl.app.coordinator.TokenCommand;
import io.pqfl.app.keys.KeysCommand;
import io.pqfl.app.keys.PkiCommand;
import io.pqfl.app.keys.TrustCommand;
import io.pqfl.app.model.ModelCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code pqfl} on a coordinator host: only the commands a coordinator operator runs (keys, trust, pki,
 * coordinator, ledger, token, model), none of which loads a class that needs DJL, libtorch or the chart library. It is
 * the main class of {@code app/target/pqfl-coordinator.jar}, whose manifest classpath leaves those jars out
 * (see the app's pom); the {@code pqfl} launcher uses it for these sub-commands.
 */
@Command(name = "pqfl", mixinStandardHelpOptions = true, version = "pqfl 0.1.0-SNAPSHOT",
        description = "Federated learning with post-quantum signed updates and models: the coordinator host's commands.",
        subcommands = {KeysCommand.class, TrustCommand.class, PkiCommand.class, CoordinatorCommand.class,
            LedgerCommand.class, TokenCommand.class, ModelCommand.class})
public final class CoordinatorHost implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    public static CommandLine commandLine() {
        return Cli.commandLine(new CoordinatorHost());
    }

    public static void main(String[] args) {
        System.exit(Cli.run(commandLine(), args));
    }
}
