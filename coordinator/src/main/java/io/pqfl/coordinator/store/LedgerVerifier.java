package io.pqfl.coordinator.store;

import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.CertificateRejectedException;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import io.pqfl.protocol.UpdateStatement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Re-checks a ledger offline: the hash chain, every accepted update's signature (with the client key the
 * ledger recorded), every published model's signature (with the coordinator key), that each model statement
 * binds the ledger head its entry follows, that statements agree with their rows, that every model's receipt
 * lists only updates accepted in its round, that every round's differential privacy spending is consistent with the
 * accountant and closed by its round's entry ({@link PrivacyCheck}), and that every signed checkpoint in the data
 * directory is in the ledger.
 *
 * <p>Security: the hash chain alone can be recomputed by whoever writes the database; what fixes the history
 * is the coordinator's signature over each model statement, which binds the ledger head before it. That only
 * holds if the coordinator key is not itself taken from the database being checked: pass the operator's
 * copy as {@code pinnedCoordinatorKey}. The entries after the newest signed model are covered by no signature
 * yet ({@link Report#coverage()} says how many); docs/COORDINATOR.md, "Ledger", says what that leaves open.
 */
public final class LedgerVerifier {
    /** Where the coordinator key that checked the models came from. */
    public enum KeySource {
        /** Given by the operator and equal to the run's recorded key. */
        PINNED,
        /** Read from the database being verified: someone who can write it could have replaced it. */
        FROM_DATABASE
    }

    /**
     * The newest model the ledger shows as signed: its round, the sequence number of its
     * {@code MODEL_PUBLISHED} entry (its signature covers every entry before that one through the ledger
     * head, and the entry's statement), and how many entries after it no signature covers yet.
     */
    public record Coverage(long round, long modelSeq, int unsignedAfter) {
    }

    /**
     * The outcome: how many entries were checked and, if something is wrong, what ({@code firstBadSeq} names
     * the entry when the problem is one entry's; it is null for a problem with the key or a checkpoint).
     */
    public record Report(int entries, int acceptedUpdates, int publishedModels, int rejectedUpdates, Long firstBadSeq,
                         String problem, KeySource keySource, String coordinatorKeyId, int checkpoints,
                         Coverage coverage, List<String> notes) {
        public Report {
            notes = List.copyOf(notes);
        }

        public boolean ok() {
            return problem == null;
        }
    }

    private LedgerVerifier() {
    }

    /** Verifies the database alone, with the coordinator key it records (tests and the load harness). */
    public static Report verify(Database db) throws SQLException {
        return verify(db, null, null);
    }

    /**
     * Verifies the ledger; with {@code pinnedCoordinatorKey} (may be null) the run's recorded coordinator key
     * must be that key; with {@code checkpoints} (a data directory's {@code checkpoints/}, may be null or
     * absent) every signed checkpoint there must be a published model of the ledger.
     */
    public static Report verify(Database db, VerifyingKey pinnedCoordinatorKey, Path checkpoints) throws SQLException {
        return verify(db, pinnedCoordinatorKey, checkpoints, false);
    }

    /**
     * As {@link #verify(Database, VerifyingKey, Path)}; {@code allowUnsigned} verifies a run the database marks
     * as the unsigned research baseline (update signatures not checked). Without it such a run fails: the mark is
     * in the database, and whoever can write the database could set it to hide forged updates.
     */
    public static Report verify(Database db, VerifyingKey pinnedCoordinatorKey, Path checkpoints, boolean allowUnsigned)
            throws SQLException {
        Ledger ledger = new Ledger(db, Clock.systemUTC());
        RunStore runs = new RunStore(db, ledger, Clock.systemUTC());
        RunStore.RunRecord run = runs.run().orElseThrow(() -> new SQLException("the database holds no federation run"));
        KeySource source = pinnedCoordinatorKey == null ? KeySource.FROM_DATABASE : KeySource.PINNED;
        List<String> notes = new ArrayList<>();
        VerifyingKey recorded;
        try {
            recorded = VerifyingKey.fromEncoded(run.coordinatorPublicKey());
        } catch (KeyFormatException e) {
            return new Report(0, 0, 0, 0, null, "the run's coordinator key is corrupt: " + e.getMessage(), source,
                    run.coordinatorKeyId(), 0, null, notes);
        }
        if (!recorded.keyId().hex().equals(run.coordinatorKeyId())) {
            return new Report(0, 0, 0, 0, null, "the run names coordinator key " + run.coordinatorKeyId()
                    + " but records the public key of " + recorded.keyId(), source, run.coordinatorKeyId(), 0, null, notes);
        }
        if (pinnedCoordinatorKey != null && (!pinnedCoordinatorKey.keyId().equals(recorded.keyId())
                || !Arrays.equals(pinnedCoordinatorKey.encoded(), recorded.encoded()))) {
            return new Report(0, 0, 0, 0, null, "the run's recorded coordinator key " + recorded.keyId()
                    + " is not the pinned coordinator key " + pinnedCoordinatorKey.keyId()
                    + " (the database's key was replaced, or this is another coordinator's data)",
                    source, recorded.keyId().hex(), 0, null, notes);
        }
        boolean unsignedRun = run.config().startsWith("unsigned=true");
        if (unsignedRun && !allowUnsigned) {
            return new Report(0, 0, 0, 0, null, "the database marks this run as the unsigned research baseline, whose "
                    + "update signatures are not checked; verify it as such only on purpose (--allow-unsigned)",
                    source, recorded.keyId().hex(), 0, null, notes);
        }
        VerifyingKey coordinator = pinnedCoordinatorKey != null ? pinnedCoordinatorKey : recorded;
        byte[] prev = new byte[Ledger.HASH_BYTES];
        long expectedSeq = 1;
        int accepted = 0;
        int models = 0;
        int rejected = 0;
        LedgerEntry newestModel = null;
        Map<Long, Set<String>> acceptedDigests = new HashMap<>();
        var entries = ledger.entries();
        int[] evaluations = new int[3]; // accepted, rejected, closed
        int[] partials = new int[2]; // partial aggregates accepted, models adopted from a parent
        int maskedInputs = 0;
        PrivacyCheck privacy = new PrivacyCheck();
        for (LedgerEntry e : entries) {
            String problem = null;
            if (e.seq() != expectedSeq) {
                problem = "sequence gap: expected " + expectedSeq + ", found " + e.seq();
            } else if (!Arrays.equals(e.prevHash(), prev)) {
                problem = "prev_hash does not match the previous entry's hash (an entry was removed or reordered)";
            } else if (!Ledger.sameHash(Ledger.hash(e), e.entryHash())) {
                problem = "entry_hash does not match the entry's contents (the entry was altered)";
            } else {
                try {
                    privacy.next(e);
                    switch (e.kind()) {
                        case UPDATE_ACCEPTED -> {
                            checkUpdate(e, ledger, !unsignedRun);
                            accepted++;
                            acceptedDigests.computeIfAbsent(e.round(), r -> new HashSet<>())
                                    .add(e.clientId() + "/" + HexFormat.of().formatHex(e.payloadDigest()));
                        }
                        case MODEL_PUBLISHED -> {
                            checkModel(e, coordinator, run.federationId(), acceptedDigests.getOrDefault(e.round(), Set.of()));
                            models++;
                            newestModel = e;
                        }
                        case UPDATE_REJECTED -> rejected++;
                        case ROUND_SKIPPED -> { }
                        case CLIENT_ENROLLED -> checkEnrollment(e, ledger, run.federationId());
                        case CLIENT_CERTIFIED -> checkCertified(e);
                        case EVALUATION_ACCEPTED -> {
                            checkEvaluation(e, ledger, run.federationId(), !unsignedRun);
                            evaluations[0]++;
                        }
                        case EVALUATION_REJECTED -> evaluations[1]++;
                        case EVALUATION_CLOSED -> evaluations[2]++;
                        case PARTIAL_AGGREGATE -> {
                            checkPartial(e, ledger, acceptedDigests.getOrDefault(e.round(), Set.of()), !unsignedRun);
                            partials[0]++;
                        }
                        case MODEL_ADOPTED -> {
                            checkAdopted(e, coordinator, run.federationId());
                            partials[1]++;
                        }
                        case SECAGG_INPUT_ACCEPTED -> {
                            checkMaskedInput(e, ledger, run.federationId());
                            maskedInputs++;
                            acceptedDigests.computeIfAbsent(e.round(), r -> new HashSet<>())
                                    .add(e.clientId() + "/" + HexFormat.of().formatHex(e.payloadDigest()));
                        }
                        case PRIVACY_SPENT -> privacy.spent(e);
                    }
                } catch (IllegalArgumentException | SignatureVerificationException | KeyFormatException e1) {
                    problem = e1.getMessage();
                }
            }
            if (problem != null) {
                return new Report(entries.size(), accepted, models, rejected, e.seq(), problem, source,
                        coordinator.keyId().hex(), 0, null, notes);
            }
            prev = e.entryHash();
            expectedSeq++;
        }
        if (privacy.unclosed() != null) {
            return new Report(entries.size(), accepted, models, rejected, privacy.unclosed(), "the DP spending of this"
                    + " entry's round is the ledger's last entry: its round's MODEL_PUBLISHED or ROUND_SKIPPED, written in"
                    + " the same transaction, is missing", source, coordinator.keyId().hex(), 0, null, notes);
        }
        if (privacy.note() != null) {
            notes.add(privacy.note());
        }
        if (evaluations[0] + evaluations[1] + evaluations[2] > 0) {
            notes.add(evaluations[0] + " accepted evaluations (each statement " + (unsignedRun ? "unsigned" : "verified")
                    + "), " + evaluations[1] + " rejected, " + evaluations[2] + " evaluations closed");
        }
        if (maskedInputs > 0) {
            notes.add(maskedInputs + " masked inputs of secure aggregation (each statement verified; the models list their "
                    + "digests, not updates)");
        }
        if (partials[0] > 0) {
            notes.add(partials[0] + " partial aggregates of aggregators (each statement " + (unsignedRun ? "unsigned"
                    : "verified") + "; their receipts are followed into the aggregators' ledgers with --aggregator)");
        }
        if (partials[1] > 0) {
            notes.add(partials[1] + " models adopted from this aggregator's parent (each signed with the coordinator key)");
        }
        Coverage coverage = newestModel == null ? null
                : new Coverage(newestModel.round(), newestModel.seq(), (int) (entries.size() - newestModel.seq()));
        int checked = 0;
        String problem = null;
        if (checkpoints != null && Files.isDirectory(checkpoints)) {
            Checkpoints c = checkCheckpoints(checkpoints, coordinator, run.federationId(), entries, runs.openRound(), notes);
            checked = c.checked();
            problem = c.problem();
        } else {
            notes.add("no checkpoints were checked" + (checkpoints == null ? "" : " (" + checkpoints + " does not exist)"));
        }
        return new Report(entries.size(), accepted, models, rejected, null, problem, source, coordinator.keyId().hex(),
                checked, coverage, notes);
    }

    private record Checkpoints(int checked, String problem) {
    }

    /**
     * Every signed checkpoint must be a published model of the ledger, with the same statement bytes: a ledger
     * truncated back past a checkpointed round (and re-chained or not) no longer holds that model. The one
     * exception is what a crash leaves between writing a round's checkpoint and committing its ledger entry:
     * a checkpoint of the round that is still open, with no model of that round in the ledger, whose head is
     * in the ledger (the restarted coordinator redoes the round and overwrites it). It is reported in a note.
     */
    private static Checkpoints checkCheckpoints(Path dir, VerifyingKey coordinator, String federationId,
                                                List<LedgerEntry> entries, Optional<RoundRecord> open, List<String> notes) {
        Map<String, LedgerEntry> published = new HashMap<>();
        Set<Long> roundsPublished = new HashSet<>();
        Map<String, LedgerEntry> byHash = new HashMap<>();
        for (LedgerEntry e : entries) {
            byHash.put(HexFormat.of().formatHex(e.entryHash()), e);
            if (e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED) {
                published.put(HexFormat.of().formatHex(e.statement()), e);
                roundsPublished.add(e.round());
            }
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(f -> DataDirectory.checkpointRound(f).isPresent()).sorted().toList();
        } catch (IOException e) {
            return new Checkpoints(0, "cannot list " + dir + ": " + e.getMessage());
        }
        if (files.isEmpty()) {
            notes.add("no signed checkpoints in " + dir + ": nothing outside the database anchors the ledger");
        }
        int checked = 0;
        for (Path f : files) {
            String name = f.getFileName().toString();
            long fileRound = DataDirectory.checkpointRound(f).getAsLong();
            SignedModel signed;
            try {
                signed = ModelFiles.readSignature(f);
            } catch (IOException e) {
                return new Checkpoints(checked, "checkpoint " + name + " cannot be read: " + e.getMessage());
            }
            if (signed == null) {
                return new Checkpoints(checked, "checkpoint " + name + " carries no signature");
            }
            ModelStatement s = signed.statement();
            try {
                if (!s.coordinatorKeyId().equals(coordinator.keyId())) {
                    throw new IllegalArgumentException("it is signed by key " + s.coordinatorKeyId()
                            + ", not the coordinator key " + coordinator.keyId());
                }
                Verifier.create(coordinator).verify(s.encode(), signed.signature());
            } catch (IllegalArgumentException | SignatureVerificationException e) {
                return new Checkpoints(checked, "checkpoint " + name + " does not verify with the coordinator key "
                        + coordinator.keyId() + ": " + e.getMessage());
            }
            if (!s.federationId().equals(federationId) || s.modelRound() != fileRound) {
                return new Checkpoints(checked, "checkpoint " + name + " holds the model of federation "
                        + s.federationId() + ", round " + s.modelRound());
            }
            checked++;
            if (published.containsKey(HexFormat.of().formatHex(s.encode()))) {
                continue;
            }
            LedgerEntry headEntry = byHash.get(s.ledgerHead().hex());
            boolean pending = open.isPresent() && open.get().round() == fileRound && !roundsPublished.contains(fileRound)
                    && headEntry != null;
            if (pending) {
                notes.add("checkpoint " + name + " is signed but not yet in the ledger: the coordinator stopped between "
                        + "writing it and recording it, and redoes round " + fileRound + " at its next start; its "
                        + "signature covers entries 1-" + headEntry.seq() + " through its ledger head");
                continue;
            }
            return new Checkpoints(checked, "checkpoint " + name + " holds the coordinator's signed model of round "
                    + fileRound + ", which the ledger does not hold: the ledger was truncated or rewritten ("
                    + (headEntry != null ? "the model was signed over the ledger head at entry " + headEntry.seq()
                            : "the ledger head it was signed over, " + s.ledgerHead() + ", is no entry's hash")
                    + ")");
        }
        return new Checkpoints(checked, null);
    }

    private static void checkEnrollment(LedgerEntry e, Ledger ledger, String federationId)
            throws SQLException, SignatureVerificationException, KeyFormatException {
        EnrollmentStatement s = EnrollmentStatement.decode(e.statement());
        if (!s.federationId().equals(federationId) || !s.clientId().value().equals(e.clientId())
                || !s.keyId().hex().equals(e.keyId())) {
            throw new IllegalArgumentException("the enrollment statement does not match its ledger row");
        }
        byte[] encoded = ledger.publicKey(e.keyId()).orElseThrow(
                () -> new IllegalArgumentException("enrolled key " + e.keyId() + " is not recorded"));
        VerifyingKey key = VerifyingKey.fromEncoded(encoded);
        Verifier.create(key).verify(e.statement(), SignatureValue.of(key.scheme(), e.signature()));
    }

    private static void checkCertified(LedgerEntry e) throws KeyFormatException {
        try {
            X509Certificate cert = Certificates.parse(e.statement());
            if (!Certificates.subjectKey(cert).keyId().hex().equals(e.keyId())
                    || !Certificates.commonName(cert).equals(e.clientId())) {
                throw new IllegalArgumentException("the certificate does not match its ledger row");
            }
        } catch (CertificateRejectedException ex) {
            throw new IllegalArgumentException("recorded certificate: " + ex.getMessage(), ex);
        }
    }

    private static void checkUpdate(LedgerEntry e, Ledger ledger, boolean signed)
            throws SQLException, SignatureVerificationException, KeyFormatException {
        UpdateStatement s = UpdateStatement.decode(e.statement());
        if (s.round() != e.round() || !s.clientId().value().equals(e.clientId()) || !s.keyId().hex().equals(e.keyId())
                || !Arrays.equals(s.updateDigest().bytes(), e.payloadDigest())) {
            throw new IllegalArgumentException("the update statement does not match its ledger row");
        }
        VerifyingKey key = recordedKey(e, ledger);
        if (signed) {
            Verifier.create(key).verify(e.statement(), SignatureValue.of(SignatureScheme.parse(e.scheme()), e.signature()));
        }
    }

    /** The client key an entry names, as the ledger recorded it (refused when missing or not of that id). */
    private static VerifyingKey recordedKey(LedgerEntry e, Ledger ledger) throws SQLException, KeyFormatException {
        Optional<byte[]> encoded = ledger.publicKey(e.keyId());
        if (encoded.isEmpty()) {
            throw new IllegalArgumentException("client key " + e.keyId() + " is not recorded");
        }
        VerifyingKey key = VerifyingKey.fromEncoded(encoded.get());
        if (!key.keyId().hex().equals(e.keyId())) {
            throw new IllegalArgumentException("recorded key does not have id " + e.keyId());
        }
        return key;
    }

    private static void checkMaskedInput(LedgerEntry e, Ledger ledger, String federation)
            throws SQLException, SignatureVerificationException, KeyFormatException {
        io.pqfl.protocol.SecAggStatement s = io.pqfl.protocol.SecAggStatement.decode(e.statement());
        if (s.part() != io.pqfl.protocol.SecAggStatement.Part.MASKED_INPUT || s.round() != e.round()
                || !s.clientId().value().equals(e.clientId()) || !s.keyId().hex().equals(e.keyId())
                || !s.federationId().equals(federation)
                || !Arrays.equals(io.pqfl.protocol.SecAggStatement.maskedInputDigest(s.body()).bytes(), e.payloadDigest())) {
            throw new IllegalArgumentException("the masked-input statement does not match its ledger row");
        }
        VerifyingKey key = recordedKey(e, ledger);
        Verifier.create(key).verify(e.statement(), SignatureValue.of(SignatureScheme.parse(e.scheme()), e.signature()));
    }

    private static void checkEvaluation(LedgerEntry e, Ledger ledger, String federation, boolean signed)
            throws SQLException, SignatureVerificationException, KeyFormatException {
        io.pqfl.protocol.EvaluationStatement s = io.pqfl.protocol.EvaluationStatement.decode(e.statement());
        if (s.round() != e.round() || !s.clientId().value().equals(e.clientId()) || !s.keyId().hex().equals(e.keyId())
                || !s.federationId().equals(federation)
                || !Arrays.equals(io.pqfl.crypto.PayloadDigest.of(e.statement()).bytes(), e.payloadDigest())) {
            throw new IllegalArgumentException("the evaluation statement does not match its ledger row");
        }
        VerifyingKey key = recordedKey(e, ledger);
        if (signed) {
            Verifier.create(key).verify(e.statement(), SignatureValue.of(SignatureScheme.parse(e.scheme()), e.signature()));
        }
    }

    /**
     * A partial aggregate's entry: its statement matches its row, verifies with the aggregator's recorded key, and
     * follows the aggregator's accepted update of the same digest in the same round.
     */
    private static void checkPartial(LedgerEntry e, Ledger ledger, Set<String> acceptedInRound, boolean signed)
            throws SQLException, SignatureVerificationException, KeyFormatException {
        io.pqfl.protocol.PartialAggregateStatement s = io.pqfl.protocol.PartialAggregateStatement.decode(e.statement());
        UpdateStatement u = s.update();
        if (u.round() != e.round() || !u.clientId().value().equals(e.clientId()) || !u.keyId().hex().equals(e.keyId())
                || !Arrays.equals(u.updateDigest().bytes(), e.payloadDigest())) {
            throw new IllegalArgumentException("the partial-aggregate statement does not match its ledger row");
        }
        if (!acceptedInRound.contains(e.clientId() + "/" + u.updateDigest().hex())) {
            throw new IllegalArgumentException("partial aggregate of " + e.clientId() + " follows no accepted update of "
                    + "its digest in round " + e.round());
        }
        byte[] encoded = ledger.publicKey(e.keyId()).orElseThrow(
                () -> new IllegalArgumentException("aggregator key " + e.keyId() + " is not recorded"));
        VerifyingKey key = VerifyingKey.fromEncoded(encoded);
        if (signed) {
            Verifier.create(key).verify(e.statement(), SignatureValue.of(SignatureScheme.parse(e.scheme()), e.signature()));
        }
    }

    /** A model adopted from the parent: a model statement with an empty receipt, signed over the head it follows. */
    private static void checkAdopted(LedgerEntry e, VerifyingKey coordinator, String federation)
            throws SignatureVerificationException {
        ModelStatement s = ModelStatement.decode(e.statement());
        if (!s.receipt().isEmpty()) {
            throw new IllegalArgumentException("an adopted model aggregates nothing here, but its statement lists a receipt");
        }
        checkModel(e, coordinator, federation, Set.of());
    }

    private static void checkModel(LedgerEntry e, VerifyingKey coordinator, String federation, Set<String> acceptedInRound)
            throws SignatureVerificationException {
        ModelStatement s = ModelStatement.decode(e.statement());
        if (s.modelRound() != e.round() || !s.federationId().equals(federation)
                || !Arrays.equals(s.modelDigest().bytes(), e.payloadDigest())) {
            throw new IllegalArgumentException("the model statement does not match its ledger row");
        }
        if (!s.coordinatorKeyId().equals(coordinator.keyId())) {
            throw new IllegalArgumentException("model signed by key " + s.coordinatorKeyId() + ", not the run's coordinator key");
        }
        Verifier.create(coordinator).verify(e.statement(), SignatureValue.of(s.scheme(), e.signature()));
        if (!s.ledgerHead().matches(e.prevHash())) {
            throw new IllegalArgumentException("the model of round " + e.round() + " was signed over ledger head "
                    + s.ledgerHead() + ", but its entry follows " + LedgerHead.of(e.prevHash())
                    + ": entries before it were removed, inserted or altered and the chain recomputed");
        }
        for (var r : s.receipt()) {
            if (!acceptedInRound.contains(r.clientId().value() + "/" + r.updateDigest().hex())) {
                throw new IllegalArgumentException("receipt lists an update of " + r.clientId()
                        + " that the ledger does not show as accepted in round " + e.round());
            }
        }
    }
}
