package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import java.util.Objects;

/**
 * What a client signs at Hello to open a session (docs/PROTOCOL.md, "Session statement"): the federation, the
 * coordinator it means (the id of the coordinator key it pinned), its client id, the id and scheme of the key
 * it signs with, and the coordinator's fresh challenge. The signature proves possession of the key, now (the
 * challenge is short-lived and accepted once), to this coordinator only: a coordinator that relays another
 * coordinator's challenge gets a proof that one refuses.
 */
public record SessionStatement(String federationId, KeyId coordinatorKeyId, ClientId clientId, KeyId keyId,
                               SignatureScheme scheme, byte[] challenge) {
    public static final String TAG = "pqfl.session-statement";
    public static final int VERSION = 1;
    /** The request metadata key that carries the session token on GetTask and SubmitUpdate calls. */
    public static final String METADATA_KEY = "pqfl-session";
    /** Bytes of a challenge. */
    public static final int CHALLENGE_BYTES = 32;

    public SessionStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(coordinatorKeyId, "coordinatorKeyId");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(scheme, "scheme");
        if (challenge == null || challenge.length != CHALLENGE_BYTES) {
            throw new IllegalArgumentException("a challenge has " + CHALLENGE_BYTES + " bytes");
        }
        challenge = challenge.clone();
    }

    @Override
    public byte[] challenge() {
        return challenge.clone();
    }

    /** The client's proof for {@code challenge}: its signature over this statement with {@code key}. */
    public static byte[] prove(String federationId, KeyId coordinatorKeyId, ClientId clientId, byte[] challenge,
                               SigningKey key) {
        SessionStatement s = new SessionStatement(federationId, coordinatorKeyId, clientId, key.keyId(), key.scheme(),
                challenge);
        return Signer.create(key).sign(s.encode()).bytes();
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static SessionStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        SessionStatement s = new SessionStatement(r.string(), new KeyId(r.string()), new ClientId(r.string()),
                new KeyId(r.string()), SignatureScheme.parse(r.string()), r.bytes());
        r.end();
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        return new CanonicalWriter().string(TAG).u16(VERSION).string(federationId).string(coordinatorKeyId.hex())
                .string(clientId.value())
                .string(keyId.hex()).string(scheme.displayName()).bytes(challenge).toByteArray();
    }
}
