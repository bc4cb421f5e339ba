package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a new client signs to enroll (docs/PROTOCOL.md, "Enrollment statement"): the federation, its client
 * id, the coordinator's fresh challenge, the id of the key it enrolls, and the SHA-512 digest of the
 * one-time token. Signing it with the new key proves possession of that key; the challenge makes the proof
 * single-use and the token digest ties it to the operator's token without putting the token in the proof.
 */
public record EnrollmentStatement(String federationId, ClientId clientId, byte[] challenge, KeyId keyId,
                                  PayloadDigest tokenDigest) {
    public static final String TAG = "pqfl.enrollment-statement";
    public static final int VERSION = 1;
    /** Bytes of a challenge. */
    public static final int CHALLENGE_BYTES = 32;

    public EnrollmentStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(tokenDigest, "tokenDigest");
        if (challenge == null || challenge.length != CHALLENGE_BYTES) {
            throw new IllegalArgumentException("a challenge has " + CHALLENGE_BYTES + " bytes");
        }
        challenge = challenge.clone();
    }

    /** The digest of a token as the statement carries it. */
    public static PayloadDigest tokenDigest(String token) {
        return PayloadDigest.of(token.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public byte[] challenge() {
        return challenge.clone();
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static EnrollmentStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        EnrollmentStatement s = new EnrollmentStatement(r.string(), new ClientId(r.string()), r.bytes(), new KeyId(r.string()),
                PayloadDigest.ofBytes(r.bytes()));
        r.end();
        return s;
    }

    /** What a client sends to prove possession of {@code key}: its signature over this statement. */
    public static byte[] prove(String federationId, ClientId clientId, byte[] challenge, SigningKey key,
                               String token) {
        EnrollmentStatement s = new EnrollmentStatement(federationId, clientId, challenge, key.keyId(), tokenDigest(token));
        return Signer.create(key).sign(s.encode()).bytes();
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        return new CanonicalWriter().string(TAG).u16(VERSION).string(federationId).string(clientId.value())
                .bytes(challenge).string(keyId.hex()).bytes(tokenDigest.bytes()).toByteArray();
    }
}
