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
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.UpdateStatement;
import java.security.cert.X509Certificate;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Re-checks a ledger offline: the hash chain, every accepted update's signature (with the client key the
 * ledger recorded), every published model's signature (with the run's coordinator key), that statements
 * agree with their rows, and that every model's receipt lists only updates accepted in its round.
 */
public final class LedgerVerifier {
    /** The outcome: how many entries were checked and, if one is bad, which and why. */
    public record Report(int entries, int acceptedUpdates, int publishedModels, int rejectedUpdates, Long firstBadSeq,
                         String problem) {
        public boolean ok() {
            return firstBadSeq == null;
        }
    }

    private LedgerVerifier() {
    }

    public static Report verify(Database db) throws SQLException {
        Ledger ledger = new Ledger(db, Clock.systemUTC());
        RunStore.RunRecord run = new RunStore(db, ledger, Clock.systemUTC()).run()
                .orElseThrow(() -> new SQLException("the database holds no federation run"));
        VerifyingKey coordinator;
        try {
            coordinator = VerifyingKey.fromEncoded(run.coordinatorPublicKey());
        } catch (KeyFormatException e) {
            return new Report(0, 0, 0, 0, 0L, "the run's coordinator key is corrupt: " + e.getMessage());
        }
        byte[] prev = new byte[Ledger.HASH_BYTES];
        long expectedSeq = 1;
        int accepted = 0;
        int models = 0;
        int rejected = 0;
        Map<Long, Set<String>> acceptedDigests = new HashMap<>();
        var entries = ledger.entries();
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
                    switch (e.kind()) {
                        case UPDATE_ACCEPTED -> {
                            checkUpdate(e, ledger, !run.config().startsWith("unsigned=true"));
                            accepted++;
                            acceptedDigests.computeIfAbsent(e.round(), r -> new HashSet<>())
                                    .add(e.clientId() + "/" + HexFormat.of().formatHex(e.payloadDigest()));
                        }
                        case MODEL_PUBLISHED -> {
                            checkModel(e, coordinator, run.federationId(), acceptedDigests.getOrDefault(e.round(), Set.of()));
                            models++;
                        }
                        case UPDATE_REJECTED -> rejected++;
                        case ROUND_SKIPPED -> { }
                        case CLIENT_ENROLLED -> checkEnrollment(e, ledger, run.federationId());
                        case CLIENT_CERTIFIED -> checkCertified(e);
                    }
                } catch (IllegalArgumentException | SignatureVerificationException | KeyFormatException e1) {
                    problem = e1.getMessage();
                }
            }
            if (problem != null) {
                return new Report(entries.size(), accepted, models, rejected, e.seq(), problem);
            }
            prev = e.entryHash();
            expectedSeq++;
        }
        return new Report(entries.size(), accepted, models, rejected, null, null);
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
        Optional<byte[]> encoded = ledger.publicKey(e.keyId());
        if (encoded.isEmpty()) {
            throw new IllegalArgumentException("client key " + e.keyId() + " is not recorded");
        }
        VerifyingKey key = VerifyingKey.fromEncoded(encoded.get());
        if (!key.keyId().hex().equals(e.keyId())) {
            throw new IllegalArgumentException("recorded key does not have id " + e.keyId());
        }
        if (signed) {
            Verifier.create(key).verify(e.statement(), SignatureValue.of(SignatureScheme.parse(e.scheme()), e.signature()));
        }
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
        for (var r : s.receipt()) {
            if (!acceptedInRound.contains(r.clientId().value() + "/" + r.updateDigest().hex())) {
                throw new IllegalArgumentException("receipt lists an update of " + r.clientId()
                        + " that the ledger does not show as accepted in round " + e.round());
            }
        }
    }
}
