package io.pqfl.coordinator.round;

import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.evaluate.EvaluationChecks;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.protocol.EvaluationStatement;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.SigningPolicy;
import java.sql.SQLException;
import java.time.Clock;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evaluation path around the state machine: a report is refused unless it names the session's client and key,
 * passes the signing policy and the client's identity checks, the machine admits it (an evaluation of that round is
 * open, the client was sampled and has not answered), its contents match the evaluation and are bounded, and its
 * signature verifies. Only then is it ledgered and folded into the evaluation's aggregate; a refusal is ledgered
 * (bounded per client and evaluation) and reaches neither.
 */
final class Evaluations {
    private static final Logger log = LoggerFactory.getLogger(Evaluations.class);

    private final FederationEngine engine;
    private final EvaluationDriver driver;
    private final UpdateVerifier verifier;
    private final Ledger ledger;
    private final CoordinatorMetrics metrics;
    private final Clock clock;
    private final SigningPolicy signing;
    private final long maxExamples;

    Evaluations(FederationEngine engine, EvaluationDriver driver, UpdateVerifier verifier, Ledger ledger,
                CoordinatorMetrics metrics, Clock clock, SigningPolicy signing, long maxExamples) {
        this.engine = engine;
        this.driver = driver;
        this.verifier = verifier;
        this.ledger = ledger;
        this.metrics = metrics;
        this.clock = clock;
        this.signing = signing;
        this.maxExamples = maxExamples;
    }

    /** Accepts {@code report} from {@code session}'s client and returns its ledger sequence number, or refuses it. */
    long submit(EvaluationReport report, Sessions.Session session) throws RefusedException {
        ClientId client = session.clientId();
        boolean admitted = false;
        EvaluationWork work = null;
        try {
            boolean announces = !report.getKeyId().isEmpty() || !report.getScheme().isEmpty();
            if (!report.getClientId().equals(client.value())
                    || announces && !report.getKeyId().equals(session.keyId().hex())) {
                throw new RefusedException(RejectReason.SESSION_MISMATCH, "the evaluation names client '"
                        + LogSafe.text(report.getClientId()) + "'" + (announces ? " and key " + LogSafe.text(report.getKeyId()) : "")
                        + ", the session is " + client + "'s with key " + session.keyId());
            }
            VerifyingKey key = identity(report, client, session.keyId(), announces);
            ReentrantLock lock = engine.lock();
            lock.lock();
            try {
                RoundMachine.Admission a = engine.machine().evaluationBegun(client, report.getRound());
                if (!a.allowed()) {
                    throw new RefusedException(a.refusal(), a.why());
                }
                admitted = true;
                work = driver.work();
            } finally {
                lock.unlock();
            }
            if (work == null || work.round() != report.getRound()) {
                throw new IllegalStateException("an admitted evaluation has no open evaluation to go to");
            }
            EvaluationStatement statement = EvaluationChecks.statement(report, work.context, key.keyId(), key.scheme(),
                    maxExamples);
            byte[] signature = report.getSignature().toByteArray();
            switch (signing) {
                case SIGNED -> EvaluationChecks.verify(statement, key, signature);
                case UNSIGNED_BASELINE -> {
                    if (signature.length != 0) {
                        throw new RefusedException(RejectReason.MALFORMED, "the evaluation announces no key but carries "
                                + signature.length + " signature bytes");
                    }
                }
            }
            long seq = record(statement, key, signature);
            work.fold(statement);
            engine.feed(m -> m.evaluationReceived(client, statement.round(), clock.instant()));
            return seq;
        } catch (RefusedException e) {
            refused(client, report.getRound(), e, admitted);
            throw e;
        } catch (RuntimeException e) {
            if (admitted) {
                engine.feed(m -> m.evaluationRefused(client, report.getRound(), RejectReason.INCOMPLETE, true,
                        clock.instant()).effects());
            }
            throw e;
        }
    }

    /** The signing policy's and the identity's checks: returns the key the evaluation is attributed to. */
    private VerifyingKey identity(EvaluationReport r, ClientId client, KeyId sessionKey, boolean announces)
            throws RefusedException {
        return switch (signing) {
            case SIGNED -> {
                if (!announces || r.getKeyId().isEmpty() || r.getScheme().isEmpty()) {
                    throw new RefusedException(RejectReason.BAD_SIGNATURE, "the evaluation announces no key or scheme: "
                            + "it is unsigned, and this federation requires signed evaluations");
                }
                SignatureScheme scheme;
                try {
                    scheme = SignatureScheme.parse(r.getScheme());
                } catch (IllegalArgumentException e) {
                    throw new RefusedException(RejectReason.MALFORMED, "unknown scheme '" + LogSafe.text(r.getScheme()) + "'");
                }
                yield verifier.checkIdentity(client, sessionKey, scheme);
            }
            case UNSIGNED_BASELINE -> {
                if (announces) {
                    throw new RefusedException(RejectReason.SCHEME_NOT_ACCEPTED, "the evaluation announces a key, but "
                            + "this federation runs the unsigned baseline and accepts no signatures");
                }
                VerifyingKey enrolled = verifier.enrolledKey(client);
                yield verifier.checkIdentity(client, sessionKey, enrolled.scheme());
            }
        };
    }

    private long record(EvaluationStatement s, VerifyingKey key, byte[] signature) {
        try {
            byte[] encoded = s.encode();
            LedgerEntry entry = ledger.append(new Ledger.Draft(LedgerEntry.Kind.EVALUATION_ACCEPTED, s.round(),
                    s.clientId().value(), key.keyId().hex(), key.scheme().displayName(), encoded,
                    signature.length == 0 ? null : signature, PayloadDigest.of(encoded).bytes(), null,
                    "loss " + s.loss() + " over " + s.numExamples() + " examples" + (s.metrics().isEmpty() ? ""
                            : "; " + s.metrics())));
            metrics.evaluationAccepted();
            log.debug("Accepted evaluation from {} (key {}) of round {}'s model: loss {} over {} examples {}", s.clientId(),
                    key.keyId(), s.round(), s.loss(), s.numExamples(), s.metrics());
            return entry.seq();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot record the evaluation: " + e.getMessage(), e);
        }
    }

    private void refused(ClientId client, long round, RefusedException e, boolean admitted) {
        RoundMachine.Ended end;
        ReentrantLock lock = engine.lock();
        lock.lock();
        try {
            end = engine.machine().evaluationRefused(client, round, e.reason(), admitted, clock.instant());
        } finally {
            lock.unlock();
        }
        metrics.evaluationRejected(e.reason().name());
        if (end.record()) {
            log.warn("Rejected evaluation from {} for round {}: {}", client, round, e.toString());
            try {
                ledger.append(new Ledger.Draft(LedgerEntry.Kind.EVALUATION_REJECTED, round, client.value(), null, null,
                        null, null, null, e.reason().name(), LogSafe.text(e.getMessage())));
            } catch (SQLException ex) {
                log.error("Cannot record the rejected evaluation of {} in the ledger", client, ex);
            }
        } else {
            log.debug("Rejected evaluation from {} for round {} (not ledgered): {}", client, round, e.toString());
        }
        engine.carryOut(end.effects());
    }
}
