package io.pqfl.coordinator.store;

import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.PartialReceiptEntry;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.UpdateStatement;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Follows a parent's ledger into its aggregators' ledgers (docs/AGGREGATOR.md, "Verifying the chain"): for every
 * PARTIAL_AGGREGATE entry of the parent whose aggregator's ledger is given, that ledger must verify on its own with
 * the aggregator's key as the parent recorded it (pinned: not the key the aggregator's database records); the
 * ledger head the partial-aggregate statement names must be the aggregator's MODEL_PUBLISHED entry of the child
 * round, signed by the aggregator, of the aggregate the parent received, built on the parent round's model, whose
 * receipt is the partial's; and every receipt entry must be an UPDATE_ACCEPTED entry of that round in the aggregator's
 * ledger with the same statement and signature.
 *
 * <p>Run {@link LedgerVerifier} on the parent first: this class trusts the parent's entries (their statements verified
 * there) and adds the links.
 */
public final class TierVerifier {
    /** The outcome: how many partial aggregates were followed, which were not (no ledger given), and the first problem. */
    public record Report(int followed, List<String> notFollowed, String problem, List<String> notes) {
        public Report {
            notFollowed = List.copyOf(notFollowed);
            notes = List.copyOf(notes);
        }

        public boolean ok() {
            return problem == null;
        }
    }

    private TierVerifier() {
    }

    /**
     * @param parent the parent's ledger database
     * @param aggregators each aggregator's ledger database by its client id at the parent, with the aggregator's
     *     checkpoints directory (may be null)
     */
    public static Report verify(Database parent, Map<String, Aggregator> aggregators) throws SQLException {
        Objects.requireNonNull(aggregators, "aggregators");
        Ledger ledger = new Ledger(parent, java.time.Clock.systemUTC());
        List<String> notes = new ArrayList<>();
        List<String> notFollowed = new ArrayList<>();
        Map<String, List<LedgerEntry>> aggregatorEntries = new TreeMap<>();
        Map<String, Boolean> aggregatorChecked = new TreeMap<>();
        int followed = 0;
        for (LedgerEntry e : ledger.entries()) {
            if (e.kind() != LedgerEntry.Kind.PARTIAL_AGGREGATE) {
                continue;
            }
            String who = "partial aggregate of " + e.clientId() + " in round " + e.round() + " (entry " + e.seq() + ")";
            Aggregator agg = aggregators.get(e.clientId());
            if (agg == null) {
                if (!notFollowed.contains(e.clientId())) {
                    notFollowed.add(e.clientId());
                }
                continue;
            }
            PartialAggregateStatement s;
            VerifyingKey key;
            try {
                s = PartialAggregateStatement.decode(e.statement());
                key = VerifyingKey.fromEncoded(ledger.publicKey(e.keyId()).orElseThrow(
                        () -> new IllegalArgumentException("the aggregator's key " + e.keyId() + " is not recorded")));
            } catch (IllegalArgumentException | KeyFormatException ex) {
                return new Report(followed, notFollowed, who + ": " + ex.getMessage(), notes);
            }
            if (!aggregatorChecked.containsKey(e.clientId())) {
                LedgerVerifier.Report own = LedgerVerifier.verify(agg.database(), key, agg.checkpoints());
                if (!own.ok()) {
                    return new Report(followed, notFollowed, "the ledger of aggregator " + e.clientId()
                            + " does not verify with its key " + key.keyId() + " as the parent recorded it"
                            + (own.firstBadSeq() == null ? "" : " (entry " + own.firstBadSeq() + ")") + ": " + own.problem(),
                            notes);
                }
                aggregatorChecked.put(e.clientId(), true);
                aggregatorEntries.put(e.clientId(), new Ledger(agg.database(), java.time.Clock.systemUTC()).entries());
                notes.add("aggregator " + e.clientId() + ": its ledger of " + own.entries() + " entries verifies with key "
                        + key.keyId());
            }
            String problem = link(s, aggregatorEntries.get(e.clientId()));
            if (problem != null) {
                return new Report(followed, notFollowed, who + ": " + problem, notes);
            }
            followed++;
        }
        return new Report(followed, notFollowed, null, notes);
    }

    /** An aggregator's ledger to follow: its database and its checkpoints directory (may be null). */
    public record Aggregator(Database database, Path checkpoints) {
        public Aggregator {
            Objects.requireNonNull(database, "database");
        }
    }

    /** Why {@code s} is not backed by the aggregator's {@code entries}, or null when it is. */
    private static String link(PartialAggregateStatement s, List<LedgerEntry> entries) {
        String head = s.partial().aggregatorLedgerHead().hex();
        LedgerEntry published = null;
        for (LedgerEntry x : entries) {
            if (HexFormat.of().formatHex(x.entryHash()).equals(head)) {
                published = x;
                break;
            }
        }
        if (published == null) {
            return "its aggregator ledger head " + s.partial().aggregatorLedgerHead() + " is no entry of the aggregator's ledger";
        }
        long childRound = s.partial().childRound();
        if (published.kind() != LedgerEntry.Kind.MODEL_PUBLISHED || published.round() != childRound) {
            return "its aggregator ledger head is entry " + published.seq() + " (" + published.kind() + " of round "
                    + published.round() + "), not the MODEL_PUBLISHED entry of round " + childRound;
        }
        ModelStatement model = ModelStatement.decode(published.statement());
        UpdateStatement u = s.update();
        if (!model.federationId().equals(s.partial().childFederationId())) {
            return "the aggregator's ledger is of federation " + model.federationId() + ", the partial names "
                    + s.partial().childFederationId();
        }
        if (!model.coordinatorKeyId().equals(u.keyId())) {
            return "the aggregator's model of round " + childRound + " is signed by key " + model.coordinatorKeyId()
                    + ", the partial aggregate by " + u.keyId();
        }
        if (!model.modelDigest().equals(u.updateDigest())) {
            return "the aggregator published " + model.modelDigest() + " in round " + childRound + ", but sent "
                    + u.updateDigest();
        }
        if (model.parentModelDigest() == null || !model.parentModelDigest().equals(u.baseModelDigest())) {
            return "the aggregator's round " + childRound + " was not built on the parent round's model "
                    + u.baseModelDigest();
        }
        List<ReceiptEntry> sent = s.partial().receipt().stream().map(PartialReceiptEntry::receiptEntry).toList();
        if (!sent.equals(model.receipt())) {
            return "its receipt is not the one the aggregator signed for round " + childRound + " (" + model.receipt().size()
                    + " updates there, " + sent.size() + " sent)";
        }
        long publishedSeq = published.seq();
        for (PartialReceiptEntry r : s.partial().receipt()) {
            byte[] statement = s.partial().childStatement(r, u.baseModelDigest()).encode();
            boolean found = entries.stream().anyMatch(x -> x.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED
                    && x.round() == childRound && x.seq() < publishedSeq && Arrays.equals(x.statement(), statement)
                    && Arrays.equals(x.signature(), r.signature()));
            if (!found) {
                return "its receipt names an update of " + r.clientId() + " (" + r.numExamples() + " examples, "
                        + r.updateDigest() + ") that is no accepted entry of round " + childRound + " in the aggregator's ledger";
            }
        }
        return null;
    }
}
