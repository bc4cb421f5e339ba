package io.pqfl.cli;

import io.pqfl.client.cli.ClientCommand;
import io.pqfl.coordinator.cli.CoordinatorCommand;
import io.pqfl.coordinator.cli.LedgerCommand;
import io.pqfl.coordinator.cli.TokenCommand;
import io.pqfl.crypto.cli.Cli;
import io.pqfl.crypto.cli.CliException;
import io.pqfl.crypto.cli.ConfigFileDefaults;
import io.pqfl.crypto.cli.KeysCommand;
import io.pqfl.crypto.cli.PkiCommand;
import io.pqfl.crypto.cli.TrustCommand;
import io.pqfl.sim.SimulateCommand;
import io.pqfl.sim.bench.BenchCommand;
import io.pqfl.sim.bench.CoordinatorBenchCommand;
import io.pqfl.sim.load.LoadCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** The {@code pqfl} command line. */
@Command(name = "pqfl", mixinStandardHelpOptions = true, version = "pqfl 0.1.0-SNAPSHOT",
        description = "Federated learning with post-quantum signed updates and models.",
        subcommands = {KeysCommand.class, TrustCommand.class, PkiCommand.class, CoordinatorCommand.class, ClientCommand.class,
            LedgerCommand.class, TokenCommand.class,
            SimulateCommand.class, BenchCommand.class, CoordinatorBenchCommand.class,
            LoadCommand.class})
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

    /** The command line with {@code --config FILE} defaults installed from {@code args}. */
    public static CommandLine commandLine(String[] args) {
        CommandLine cmd = commandLine();
        ConfigFileDefaults.install(cmd, args);
        return cmd;
    }

    public static void main(String[] args) {
        CommandLine cmd;
        try {
            cmd = commandLine(args);
        } catch (CliException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(Cli.USAGE);
            return;
        }
        System.exit(cmd.execute(args));
    }
}
