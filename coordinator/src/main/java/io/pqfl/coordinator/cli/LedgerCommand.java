package io.pqfl.coordinator.cli;

import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.crypto.cli.Cli;
import io.pqfl.crypto.cli.CliException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pqfl ledger verify DIR}: re-check a coordinator's ledger offline. */
@Command(name = "ledger", mixinStandardHelpOptions = true, description = "Inspect a coordinator's audit ledger.",
        subcommands = LedgerCommand.Verify.class)
public final class LedgerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Re-check the hash chain and every signature; report the first bad entry. Exit 1 if any.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DATA-DIR", description = "The coordinator's data directory (holding pqfl.db).")
        Path dir;

        @Option(names = "--jdbc-url", paramLabel = "URL", description = "Use this database instead of DATA-DIR/pqfl.db.")
        String jdbcUrl;

        @Override
        public Integer call() throws Exception {
            String url = jdbcUrl;
            if (url == null) {
                Path db = dir.resolve("pqfl.db");
                if (!Files.isRegularFile(db)) {
                    throw new CliException(dir + ": no ledger here (expected " + db + ")");
                }
                url = "jdbc:sqlite:" + db;
            }
            LedgerVerifier.Report r;
            try (Database database = Database.open(url)) {
                r = LedgerVerifier.verify(database);
            }
            PrintWriter w = spec.commandLine().getOut();
            w.printf("%d entries: %d accepted updates, %d rejected, %d published models%n", r.entries(), r.acceptedUpdates(),
                    r.rejectedUpdates(), r.publishedModels());
            if (r.ok()) {
                w.println("OK: the hash chain is intact and every signature verifies");
                w.flush();
                return Cli.OK;
            }
            w.flush();
            spec.commandLine().getErr().printf("FAILED at entry %d: %s%n", r.firstBadSeq(), r.problem());
            spec.commandLine().getErr().flush();
            return Cli.FAILED;
        }
    }
}
