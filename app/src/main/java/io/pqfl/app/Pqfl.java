package io.pqfl.app;

import io.pqfl.app.client.ClientCommand;
import io.pqfl.app.coordinator.AggregatorCommand;
import io.pqfl.app.coordinator.CoordinatorCommand;
import io.pqfl.app.coordinator.LedgerCommand;
import io.pqfl.app.coordinator.TokenCommand;
import io.pqfl.app.keys.KeysCommand;
import io.pqfl.app.keys.PkiCommand;
import io.pqfl.app.keys.TrustCommand;
import io.pqfl.app.model.ModelCommand;
import io.pqfl.app.sim.BenchCommand;
import io.pqfl.app.sim.CoordinatorBenchCommand;
import io.pqfl.app.sim.LoadCommand;
import io.pqfl.app.sim.SimulateCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** The {@code pqfl} command line. */
@Command(name = "pqfl", mixinStandardHelpOptions = true, version = "pqfl 0.1.0-SNAPSHOT",
        description = "Federated learning with post-quantum signed updates and models.",
        subcommands = {KeysCommand.class, TrustCommand.class, PkiCommand.class, CoordinatorCommand.class, ClientCommand.class,
            AggregatorCommand.class,
            LedgerCommand.class, TokenCommand.class, ModelCommand.class,
            SimulateCommand.class, BenchCommand.class, CoordinatorBenchCommand.class,
            LoadCommand.class, ConfigTemplateCommand.class})
public final class Pqfl implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    public static CommandLine commandLine() {
        return Cli.commandLine(new Pqfl());
    }

    public static void main(String[] args) {
        try {
            LogFormat.fromEnvironment();
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(Cli.USAGE);
        }
        System.exit(Cli.run(commandLine(), args));
    }
}
