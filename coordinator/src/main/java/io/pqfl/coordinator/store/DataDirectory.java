package io.pqfl.coordinator.store;

import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The layout of a coordinator's data directory, in one place:
 * <pre>
 * DATA-DIR/
 *   pqfl.db                       the SQLite database (ledger, rounds, runs, tokens), unless a JDBC URL is given
 *   trust/                        client public keys, CLIENT-ID.pub (the default trust directory)
 *   certified/                    certificates of clients admitted by the federation CA
 *   checkpoints/model-NNNNNN.pqfl the signed global model of round NNNNNN (000000: the initial model)
 *   checkpoints/state-NNNNNN.pqfl the strategy's state after round NNNNNN (server-side optimisers)
 *   spool/round-NNNNNN/           the accepted updates of a round still open, CLIENT-ID.bin
 * </pre>
 * Round numbers are zero-padded to six digits so that the files sort by round.
 */
public record DataDirectory(Path root) {
    /** The database file's name. */
    public static final String DATABASE = "pqfl.db";

    private static final Pattern CHECKPOINT = Pattern.compile("model-(\\d{1,18})\\.pqfl");

    public DataDirectory {
        Objects.requireNonNull(root, "root");
    }

    public static DataDirectory of(Path root) {
        return new DataDirectory(root);
    }

    /** The SQLite database file. */
    public Path database() {
        return root.resolve(DATABASE);
    }

    /** The JDBC URL of {@link #database()}. */
    public String jdbcUrl() {
        return "jdbc:sqlite:" + database();
    }

    /** The trust directory a coordinator uses unless it is given another. */
    public Path trust() {
        return root.resolve("trust");
    }

    /** Certificates of the clients admitted by certificate (re-read at start). */
    public Path certified() {
        return root.resolve("certified");
    }

    public Path checkpoints() {
        return root.resolve("checkpoints");
    }

    /** The signed global model published at the end of {@code round} (round 0: the initial model). */
    public Path checkpoint(long round) {
        return checkpoints().resolve(String.format("model-%06d.pqfl", round));
    }

    /** The strategy's state after {@code round}. */
    public Path strategyState(long round) {
        return checkpoints().resolve(String.format("state-%06d.pqfl", round));
    }

    public Path spool() {
        return root.resolve("spool");
    }

    /** The spooled accepted updates of {@code round}. */
    public Path spool(long round) {
        return spool().resolve(String.format("round-%06d", round));
    }

    /** The round of a checkpoint file by its name ({@code model-000003.pqfl}: 3), or empty for any other file. */
    public static OptionalLong checkpointRound(Path file) {
        Matcher m = CHECKPOINT.matcher(file.getFileName().toString());
        return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
    }
}
