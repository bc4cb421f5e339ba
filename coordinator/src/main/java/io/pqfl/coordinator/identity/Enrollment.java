package io.pqfl.coordinator.identity;

import io.pqfl.coordinator.store.EnrollmentTokens;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.TrustStoreException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.protocol.EnrollmentStatement;
import java.io.IOException;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Set;

/**
 * Enrollment with a one-time token and proof of possession. {@link #begin} hands out a fresh challenge for
 * one client id and key; {@link #complete} checks the client's signature over the enrollment statement
 * (which binds the federation, client id, challenge, key id and the token's digest), consumes the token and
 * adds the key to the trust directory. Challenges are stateless ({@link Challenges}); the token is single-use and
 * consumed only by a proof that verifies, so a wrong guess does not burn a real client's token.
 */
public final class Enrollment {
    /** A completed enrollment, for the ledger. */
    public record Enrolled(VerifyingKey key, byte[] statement, byte[] signature) {
    }

    private final String federationId;
    private final ClientDirectory directory;
    private final EnrollmentTokens tokens;
    private final Set<SignatureScheme> accepted;
    private final Challenges challenges;

    public Enrollment(String federationId, ClientDirectory directory, EnrollmentTokens tokens, Set<SignatureScheme> accepted,
                      Challenges challenges) {
        this.federationId = Objects.requireNonNull(federationId, "federationId");
        this.directory = Objects.requireNonNull(directory, "directory");
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.accepted = Set.copyOf(accepted);
        this.challenges = Objects.requireNonNull(challenges, "challenges");
    }

    /**
     * Issues a challenge for {@code clientId} enrolling the key {@code publicKey} (SubjectPublicKeyInfo DER). The
     * challenge is bound to the client id and key id by a MAC and stored nowhere, so nobody, asking for any
     * client id, can overwrite or use up another caller's challenge.
     */
    public byte[] begin(ClientId clientId, byte[] publicKey) throws RefusedException {
        VerifyingKey key = parseKey(publicKey);
        refuseIfKnown(clientId, key);
        return challenges.issue(Challenges.Purpose.ENROLLMENT, subject(clientId, key));
    }

    private static String subject(ClientId clientId, VerifyingKey key) {
        return clientId.value() + "/" + key.keyId().hex();
    }

    /**
     * Completes an enrollment: the challenge must be one issued for this client and key and not expired, the
     * signature must verify under that key, and the token must be valid for this client and unused. A replayed
     * completion finds its token used.
     */
    public Enrolled complete(ClientId clientId, byte[] publicKey, String token, byte[] challenge, byte[] signature)
            throws RefusedException, SQLException, IOException {
        VerifyingKey key = parseKey(publicKey);
        try {
            challenges.check(Challenges.Purpose.ENROLLMENT, subject(clientId, key), challenge);
        } catch (RefusedException e) {
            throw new RefusedException(RejectReason.ENROLLMENT_INVALID, "no valid enrollment challenge for client "
                    + clientId + " and this key: " + e.getMessage());
        }
        if (token == null || token.isEmpty()) {
            throw new RefusedException(RejectReason.TOKEN_INVALID, "an enrollment needs the token the operator issued");
        }
        EnrollmentStatement statement = new EnrollmentStatement(federationId, clientId, challenge, key.keyId(),
                EnrollmentStatement.tokenDigest(token));
        byte[] encoded = statement.encode();
        try {
            Verifier.create(key).verify(encoded, SignatureValue.of(key.scheme(), signature));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new RefusedException(RejectReason.ENROLLMENT_INVALID,
                    "the proof of possession does not verify under the key being enrolled: " + e.getMessage());
        }
        synchronized (this) {
            refuseIfKnown(clientId, key);
            switch (tokens.consume(token, clientId, key.keyId())) {
                case VALID -> { }
                case UNKNOWN -> throw new RefusedException(RejectReason.TOKEN_INVALID,
                        "this coordinator issued no such enrollment token");
                case OTHER_CLIENT -> throw new RefusedException(RejectReason.TOKEN_INVALID,
                        "the enrollment token was issued for another client id");
                case USED -> throw new RefusedException(RejectReason.TOKEN_USED,
                        "the enrollment token was already used; ask the operator for a new one");
                case EXPIRED -> throw new RefusedException(RejectReason.TOKEN_EXPIRED, "the enrollment token has expired");
                case NOT_SIGNED -> throw new RefusedException(RejectReason.TOKEN_INVALID, "the enrollment token's "
                        + "record is not signed by this coordinator's key (was it put into the database by hand?)");
            }
            try {
                directory.trustStore().add(clientId, key);
            } catch (TrustStoreException e) {
                throw new RefusedException(RejectReason.ALREADY_ENROLLED, e.getMessage());
            }
        }
        return new Enrolled(key, encoded, signature.clone());
    }

    private VerifyingKey parseKey(byte[] publicKey) throws RefusedException {
        VerifyingKey key;
        try {
            key = VerifyingKey.fromEncoded(publicKey);
        } catch (KeyFormatException e) {
            throw new RefusedException(RejectReason.MALFORMED, "the public key to enroll: " + e.getMessage());
        }
        if (!accepted.contains(key.scheme())) {
            throw new RefusedException(RejectReason.SCHEME_NOT_ACCEPTED,
                    "signature scheme " + key.scheme() + " is not accepted by this federation's policy");
        }
        return key;
    }

    private void refuseIfKnown(ClientId clientId, VerifyingKey key) throws RefusedException {
        if (directory.find(clientId).isPresent()) {
            throw new RefusedException(RejectReason.ALREADY_ENROLLED, "client " + clientId + " is already enrolled");
        }
        var holder = directory.trustStore().findByKeyId(key.keyId());
        if (holder.isPresent()) {
            throw new RefusedException(RejectReason.ALREADY_ENROLLED,
                    "key " + key.keyId() + " already belongs to client " + holder.get().clientId());
        }
    }
}
