package io.pqfl.coordinator.identity;

import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.Certificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.sql.SQLException;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who a caller is: Hello with proof of possession (and certificate admission), the session check on every
 * call that acts for a client, and enrollment with a one-time token. Identity events go into the ledger
 * (CLIENT_CERTIFIED, CLIENT_ENROLLED); an authenticated client is reported to the rounds as seen.
 */
public final class IdentityService {
    private static final Logger log = LoggerFactory.getLogger(IdentityService.class);

    private final Authenticator authenticator;
    private final Enrollment enrollment;
    private final Ledger ledger;
    private final CoordinatorMetrics metrics;
    private final LongSupplier currentRound;
    private volatile Consumer<ClientId> seen = c -> { };

    public IdentityService(Authenticator authenticator, Enrollment enrollment, Ledger ledger, CoordinatorMetrics metrics,
                           LongSupplier currentRound) {
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
        this.enrollment = Objects.requireNonNull(enrollment, "enrollment");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.currentRound = Objects.requireNonNull(currentRound, "currentRound");
    }

    /** Where authenticated clients are reported (the rounds' liveness). */
    public void onSeen(Consumer<ClientId> seen) {
        this.seen = Objects.requireNonNull(seen, "seen");
    }

    /** A fresh challenge for {@code clientId}'s Hello; stateless, so asking costs the coordinator nothing. */
    public byte[] challenge(ClientId clientId) {
        return authenticator.challenge(clientId);
    }

    /** When {@code challenge} expires, in milliseconds since the epoch. */
    public long challengeExpiry(byte[] challenge) {
        return authenticator.expiresAt(challenge);
    }

    /**
     * A client proves possession of its key (and, optionally, presents its federation certificate, which admits
     * it when it is not in the trust directory) and gets a session. See {@link Authenticator#hello}.
     */
    public Sessions.Session hello(Authenticator.Claim claim) throws RefusedException {
        Authenticator.Admission admission;
        try {
            admission = authenticator.hello(claim);
        } catch (RefusedException e) {
            metrics.updateRejected(e.reason().name());
            log.warn("Refused Hello from {}: {}", claim.clientId(), e.toString());
            throw e;
        }
        if (admission.admitted().isPresent()) {
            X509Certificate cert = admission.admitted().get();
            record(LedgerEntry.Kind.CLIENT_CERTIFIED, claim.clientId(), admission.key(), encoded(cert), null,
                    "serial " + Certificates.serialHex(cert.getSerialNumber()));
        }
        seen.accept(claim.clientId());
        return admission.session();
    }

    /**
     * The session a GetTask or SubmitUpdate call carries, re-checked against the directory and, under mutual
     * TLS, the connection's certificate ({@code tlsPeer}, null without one).
     */
    public Sessions.Session authenticate(String token, X509Certificate tlsPeer) throws RefusedException {
        Sessions.Session s = authenticator.authenticate(token, tlsPeer);
        seen.accept(s.clientId());
        return s;
    }

    /** First step of a token enrollment: a fresh challenge for this client and key. */
    public byte[] beginEnrollment(ClientId clientId, byte[] publicKey) throws RefusedException {
        return enrollment.begin(clientId, publicKey);
    }

    /** Second step: checks the proof of possession and the token, enrolls the key, and records it in the ledger. */
    public VerifyingKey completeEnrollment(ClientId clientId, byte[] publicKey, String token, byte[] challenge,
                                           byte[] signature) throws RefusedException {
        try {
            var enrolled = enrollment.complete(clientId, publicKey, token, challenge, signature);
            record(LedgerEntry.Kind.CLIENT_ENROLLED, clientId, enrolled.key(), enrolled.statement(), enrolled.signature(),
                    "one-time token");
            log.info("Enrolled client {} with {} key {} (one-time token)", clientId, enrolled.key().scheme(),
                    enrolled.key().keyId());
            return enrolled.key();
        } catch (RefusedException e) {
            metrics.updateRejected(e.reason().name());
            log.warn("Refused enrollment of {}: {}: {}", clientId, e.reason(), e.getMessage());
            throw e;
        } catch (SQLException | IOException e) {
            throw new UncheckedIOException(new IOException("cannot record the enrollment: " + e.getMessage(), e));
        }
    }

    private void record(LedgerEntry.Kind kind, ClientId clientId, VerifyingKey key, byte[] statement, byte[] signature,
                        String detail) {
        try {
            ledger.append(new Ledger.Draft(kind, currentRound.getAsLong(), clientId.value(), key.keyId().hex(),
                    key.scheme().displayName(), statement, signature, null, null, detail), key);
        } catch (SQLException e) {
            log.error("Cannot record {} of {} in the ledger", kind, clientId, e);
        }
    }

    private static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("cannot encode an admitted certificate", e);
        }
    }
}
