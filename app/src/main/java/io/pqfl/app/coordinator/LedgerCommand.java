package io.pqfl.app.coordinator;

import io.pqfl.app.Cli;
import io.pqfl.app.CliException;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.TierVerifier;
import java.util.List;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.VerifyingKey;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pqfl ledger verify DIR [--coordinator-key FILE]}: re-check a coordinator's ledger offline. */
@Command(name = "ledger", mixinStandardHelpOptions = true, description = "Inspect a coordinator's audit ledger.",
        subcommands = {LedgerCommand.Verify.class, LedgerCommand.Export.class})
public final class LedgerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    /** The ledger's database: {@code jdbcUrl} when given, else DIR's pqfl.db, which must exist (a CLI error naming it). */
    static String ledgerUrl(Path dir, String jdbcUrl) {
        if (jdbcUrl != null) {
            return jdbcUrl;
        }
        DataDirectory data = DataDirectory.of(dir);
        if (!Files.isRegularFile(data.database())) {
            throw new CliException(dir + ": no ledger here (expected " + data.database() + ")");
        }
        return data.jdbcUrl();
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Re-check the hash chain, every signature, the ledger head each signed model binds, and "
                    + "that every signed checkpoint in DATA-DIR/checkpoints is in the ledger; report the first problem. "
                    + "Exit 1 if any.",
                    "Pin the coordinator's public key with --coordinator-key: otherwise it is taken from the database "
                    + "being verified, and whoever can write that database can replace it."})
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DATA-DIR", description = "The coordinator's data directory (holding pqfl.db and checkpoints/), "
                + "or a ledger export (pqfl ledger export) to check on its own.")
        Path dir;

        @Option(names = "--jdbc-url", paramLabel = "URL", description = "Use this database instead of DATA-DIR/pqfl.db.")
        String jdbcUrl;

        @Option(names = "--coordinator-key", paramLabel = "FILE",
                description = "The coordinator's public key (PEM), from outside the data directory: the run's recorded "
                        + "key must be this one.")
        Path coordinatorKey;

        @Option(names = "--allow-unsigned", description = "Verify a run of the unsigned research baseline (update "
                + "signatures not checked); without it such a run fails, since the mark could have been set in the database.")
        boolean allowUnsigned;

        @Option(names = "--aggregator", paramLabel = "ID=DATA-DIR",
                description = {"Follow the partial aggregates of aggregator ID (its client id here) into its own ledger, in "
                        + "DATA-DIR: that ledger must verify with the aggregator's key as this ledger recorded it, hold the "
                        + "child round's signed model at the head each partial names, and every update its receipt lists. "
                        + "Repeat for each aggregator (docs/AGGREGATOR.md)."})
        java.util.Map<String, Path> aggregators = new java.util.LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            if (Files.isRegularFile(dir)) {
                return verifyExport();
            }
            DataDirectory data = DataDirectory.of(dir);
            String url = ledgerUrl(dir, jdbcUrl);
            VerifyingKey pinned = coordinatorKey == null ? null : KeyPem.readVerifyingKey(coordinatorKey);
            LedgerVerifier.Report r;
            TierVerifier.Report tier = null;
            try (Database database = Database.open(url)) {
                r = LedgerVerifier.verify(database, pinned, data.checkpoints(), allowUnsigned);
                if (r.ok()) {
                    tier = followAggregators(database);
                }
            }
            return report(r, tier);
        }

        /** Checks an export: read into a scratch database, verified like a live ledger (there are no checkpoints). */
        private Integer verifyExport() throws Exception {
            VerifyingKey pinned = coordinatorKey == null ? null : KeyPem.readVerifyingKey(coordinatorKey);
            Path scratch = Files.createTempFile("pqfl-ledger-export", ".db");
            try {
                LedgerVerifier.Report r;
                try (Database database = Database.open("jdbc:sqlite:" + scratch)) {
                    try {
                        io.pqfl.coordinator.store.LedgerExport.importInto(dir, database);
                    } catch (IllegalArgumentException e) {
                        throw new CliException(e.getMessage(), e);
                    }
                    r = LedgerVerifier.verify(database, pinned, null, allowUnsigned);
                }
                return report(r, null);
            } finally {
                Files.deleteIfExists(scratch);
            }
        }

        private Integer report(LedgerVerifier.Report r, TierVerifier.Report tier) {
            PrintWriter w = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (r.keySource() == LedgerVerifier.KeySource.FROM_DATABASE) {
                err.printf("WARNING: the coordinator key (%s) was taken from the database being verified; pin it with "
                        + "--coordinator-key FILE, or whoever can write the database can replace it%n", r.coordinatorKeyId());
                err.flush();
            }
            if (r.entries() > 0) {
                // Zero when the check stopped at the run's key, before any entry.
                w.printf("%d entries: %d accepted updates, %d rejected, %d published models%n", r.entries(),
                        r.acceptedUpdates(), r.rejectedUpdates(), r.publishedModels());
            }
            if (r.ok()) {
                if (allowUnsigned) {
                    w.println("UNSIGNED RUN: update signatures were not checked (--allow-unsigned)");
                }
                if (r.keySource() == LedgerVerifier.KeySource.PINNED) {
                    w.printf("coordinator key %s: pinned with --coordinator-key%n", r.coordinatorKeyId());
                }
                if (r.checkpoints() > 0) {
                    w.printf("%d checkpoints: each is a published model of the ledger%n", r.checkpoints());
                }
                LedgerVerifier.Coverage c = r.coverage();
                if (c != null) {
                    String covers = c.modelSeq() == 1 ? "the first entry"
                            : "its signature covers entries 1-" + (c.modelSeq() - 1) + " through its ledger head";
                    w.printf("last signed round: %d, ledger entry %d (%s); %d %s after it covered by no signature yet%n",
                            c.round(), c.modelSeq(), covers, c.unsignedAfter(), c.unsignedAfter() == 1 ? "entry" : "entries");
                }
                for (String note : r.notes()) {
                    w.println("note: " + note);
                }
                if (tier != null && !tier.ok()) {
                    w.flush();
                    for (String note : tier.notes()) {
                        err.println("note: " + note);
                    }
                    err.printf("FAILED: %s%n", tier.problem());
                    err.flush();
                    return Cli.FAILED;
                }
                if (tier != null) {
                    for (String note : tier.notes()) {
                        w.println("note: " + note);
                    }
                    if (tier.followed() > 0) {
                        w.printf("%d partial aggregates followed into their aggregators' ledgers: every receipt entry is "
                                + "an accepted update there, and every head their signed model%n", tier.followed());
                    }
                    if (!tier.notFollowed().isEmpty()) {
                        w.println("note: partial aggregates of " + String.join(", ", tier.notFollowed()) + " not followed "
                                + "(give --aggregator ID=DATA-DIR)");
                    }
                }
                w.println("OK: the hash chain is intact and every signature verifies");
                w.flush();
                return Cli.OK;
            }
            w.flush();
            for (String note : r.notes()) {
                err.println("note: " + note);
            }
            if (r.firstBadSeq() != null) {
                err.printf("FAILED at entry %d: %s%n", r.firstBadSeq(), r.problem());
            } else {
                err.printf("FAILED: %s%n", r.problem());
            }
            err.flush();
            return Cli.FAILED;
        }

        /** Opens each aggregator's ledger named with --aggregator and follows the partial aggregates into it. */
        private TierVerifier.Report followAggregators(Database parent) throws Exception {
            java.util.Map<String, TierVerifier.Aggregator> ledgers = new java.util.LinkedHashMap<>();
            List<Database> opened = new java.util.ArrayList<>();
            try {
                for (var e : aggregators.entrySet()) {
                    DataDirectory d = DataDirectory.of(e.getValue());
                    if (!Files.isRegularFile(d.database())) {
                        throw new CliException(e.getValue() + ": no ledger of aggregator " + e.getKey() + " here (expected "
                                + d.database() + ")");
                    }
                    Database db = Database.open(d.jdbcUrl());
                    opened.add(db);
                    ledgers.put(e.getKey(), new TierVerifier.Aggregator(db, d.checkpoints()));
                }
                return TierVerifier.verify(parent, ledgers);
            } finally {
                for (Database db : opened) {
                    db.close();
                }
            }
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Write the ledger as JSON lines (docs/AUDIT.md): the run, every recorded public key, and every "
                    + "entry with all its columns, its statement's fields decoded, the signer's public key and the example "
                    + "count, enough to check every signature with docs/PROTOCOL.md and any implementation of the schemes. "
                    + "`pqfl ledger verify FILE` checks an export."})
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DATA-DIR", description = "The coordinator's data directory (holding pqfl.db).")
        Path dir;

        @Option(names = "--jdbc-url", paramLabel = "URL", description = "Use this database instead of DATA-DIR/pqfl.db.")
        String jdbcUrl;

        @Option(names = "--out", paramLabel = "FILE", required = true, description = "The export to write (JSON lines).")
        Path out;

        @Override
        public Integer call() throws Exception {
            String url = ledgerUrl(dir, jdbcUrl);
            Path tmp = out.resolveSibling(out.getFileName() + ".part");
            int n;
            try (Database database = Database.open(url);
                 java.io.Writer w = Files.newBufferedWriter(tmp, java.nio.charset.StandardCharsets.UTF_8)) {
                n = io.pqfl.coordinator.store.LedgerExport.write(database, w);
            } catch (IllegalArgumentException e) {
                Files.deleteIfExists(tmp);
                throw new CliException(dir + ": " + e.getMessage(), e);
            }
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            spec.commandLine().getOut().printf("%d ledger entries exported to %s%n", n, out);
            return Cli.OK;
        }
    }
}
