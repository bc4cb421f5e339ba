package io.pqfl.cli;

import io.pqfl.crypto.cli.Cli;
import io.pqfl.crypto.cli.KeysCommand;
import io.pqfl.sim.bench.BenchCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code pqfl} command line. */
@Command(name = "pqfl", mixinStandardHelpOptions = true, version = "pqfl 0.1.0-SNAPSHOT",
        description = "Federated learning with post-quantum signed updates and models.",
        subcommands = {KeysCommand.class, BenchCommand.class})
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
        System.exit(commandLine().execute(args));
    }
}
