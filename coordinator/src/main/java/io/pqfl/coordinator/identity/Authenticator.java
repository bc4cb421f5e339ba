package io.pqfl.coordinator.identity;

import io.pqfl.coordinator.identity.Sessions.Session;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.protocol.SessionStatement;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns a Hello into a session, or refuses it. In this order: the challenge is this coordinator's, for this
 * client, and fresh; the key is the client's (its trust-directory key, or the key of a certificate the
 * federation CA issued for it); the signature over the session statement verifies with that key (proof of
 * possession); the challenge was not used before; only then is a certificate admitted and a session opened.
 * Nothing a caller sends before its proof verifies changes any state.
 */
public final class Authenticator {
    /** What a Hello claims. {@code certificate} (DER) is null when the client relies on the trust directory. */
    public record Claim(ClientId clientId, KeyId keyId, SignatureScheme scheme, byte[] certificate, byte[] challenge,
                        byte[] signature) {
        public Claim {
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(scheme, "scheme");
        }
    }

    /** An authenticated Hello: the session, and the certificate it admitted (empty when nothing changed). */
    public record Admission(Session session, VerifyingKey key, Optional<X509Certificate> admitted) {
    }

    private final String federationId;
    private final KeyId coordinatorKeyId;
    private final ClientDirectory directory;
    private final UpdateVerifier identities;
    private final Challenges challenges;
    private final Sessions sessions;

    public Authenticator(String federationId, KeyId coordinatorKeyId, ClientDirectory directory, UpdateVerifier identities,
                         Challenges challenges, Sessions sessions) {
        this.federationId = Objects.requireNonNull(federationId, "federationId");
        this.coordinatorKeyId = Objects.requireNonNull(coordinatorKeyId, "coordinatorKeyId");
        this.directory = Objects.requireNonNull(directory, "directory");
        this.identities = Objects.requireNonNull(identities, "identities");
        this.challenges = Objects.requireNonNull(challenges, "challenges");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    /** A fresh challenge for {@code clientId}'s next Hello. */
    public byte[] challenge(ClientId clientId) {
        return challenges.issue(Challenges.Purpose.SESSION, clientId.value());
    }

    public long expiresAt(byte[] challenge) {
        return challenges.expiresAt(challenge);
    }

    public Admission hello(Claim claim) throws RefusedException {
        challenges.check(Challenges.Purpose.SESSION, claim.clientId().value(), claim.challenge());
        boolean hasCertificate = claim.certificate() != null && claim.certificate().length > 0;
        ClientDirectory.Candidate candidate = null;
        VerifyingKey key;
        if (hasCertificate) {
            candidate = directory.examine(claim.clientId(), claim.certificate());
            key = candidate.key();
        } else {
            key = directory.find(claim.clientId()).orElseThrow(() -> new RefusedException(RejectReason.UNKNOWN_CLIENT,
                    "client " + claim.clientId() + " is not enrolled")).key();
        }
        if (!key.keyId().equals(claim.keyId()) || key.scheme() != claim.scheme()) {
            throw new RefusedException(RejectReason.KEY_MISMATCH, "client " + claim.clientId() + " presented key "
                    + claim.keyId() + " (" + claim.scheme() + "), its " + (hasCertificate ? "certificate's" : "enrolled")
                    + " key is " + key.keyId() + " (" + key.scheme() + ")");
        }
        SessionStatement statement = new SessionStatement(federationId, coordinatorKeyId, claim.clientId(), key.keyId(),
                key.scheme(), claim.challenge());
        try {
            Verifier.create(key).verify(statement.encode(), SignatureValue.of(key.scheme(),
                    claim.signature() == null ? new byte[0] : claim.signature()));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new RefusedException(RejectReason.PROOF_INVALID,
                    "the signature over the session statement does not verify with " + (hasCertificate
                            ? "the certificate's key" : "the client's enrolled key") + " " + key.keyId());
        }
        if (!challenges.markUsed(claim.clientId().value(), claim.challenge())) {
            throw new RefusedException(RejectReason.CHALLENGE_INVALID, "the challenge was used before, or is older than "
                    + "one this client already used (a replayed Hello?); ask for a fresh one");
        }
        Optional<X509Certificate> admitted = hasCertificate ? directory.admit(candidate) : Optional.empty();
        VerifyingKey enrolled = identities.checkIdentity(claim.clientId(), claim.keyId(), claim.scheme());
        return new Admission(sessions.open(claim.clientId(), enrolled.keyId()), enrolled, admitted);
    }

    /**
     * The session a call carries, checked again against the directory (a revoked or re-keyed client's session
     * ends) and, under mutual TLS, against the certificate of the connection.
     */
    public Session authenticate(String token, X509Certificate tlsPeer) throws RefusedException {
        Session s = sessions.find(token).orElseThrow(() -> new RefusedException(RejectReason.SESSION_INVALID,
                token == null || token.isEmpty() ? "this call needs a session: say Hello (with proof of possession) first"
                        : "unknown or expired session: say Hello again"));
        if (tlsPeer != null) {
            String cn = Certificates.commonName(tlsPeer);
            if (!cn.equals(s.clientId().value())) {
                throw new RefusedException(RejectReason.SESSION_MISMATCH, "the TLS client certificate is for '" + cn
                        + "', the session for '" + s.clientId() + "'");
            }
        }
        var client = directory.find(s.clientId());
        if (client.isEmpty() || client.get().revoked() || !client.get().key().keyId().equals(s.keyId())) {
            sessions.end(s);
            throw new RefusedException(client.isPresent() && client.get().revoked() ? RejectReason.REVOKED_KEY
                    : RejectReason.SESSION_INVALID, "client " + s.clientId() + "'s key " + s.keyId()
                    + (client.isPresent() && client.get().revoked() ? " has been revoked" : " is no longer enrolled"));
        }
        return s;
    }
}
