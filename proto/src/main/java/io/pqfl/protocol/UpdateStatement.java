package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import java.util.Objects;

/**
 * What a client signs for one model update (docs/PROTOCOL.md, "Update statement"). It binds the update to
 * its federation, round and round nonce (no replay into another round or federation), to the global model
 * it was trained from, to the client and its key (no moving it to another client), to the digest of its
 * tensors and manifest, and to the example count that weights it in aggregation.
 */
public record UpdateStatement(String federationId, long round, RoundNonce nonce, PayloadDigest baseModelDigest,
                              ClientId clientId, KeyId keyId, SignatureScheme scheme, PayloadDigest updateDigest,
                              long numExamples) {
    public static final String TAG = "pqfl.update-statement";
    public static final int VERSION = 1;

    public UpdateStatement {
        FederationIds.require(federationId);
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(baseModelDigest, "baseModelDigest");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(updateDigest, "updateDigest");
        if (round < 1) {
            throw new IllegalArgumentException("update rounds start at 1, got " + round);
        }
        if (numExamples < 0) {
            throw new IllegalArgumentException("example count must not be negative");
        }
    }

    /** Parses {@link #encode()}'s output; throws {@link IllegalArgumentException} on any deviation. */
    public static UpdateStatement decode(byte[] encoded) {
        CanonicalReader r = new CanonicalReader(encoded);
        r.expectTag(TAG, VERSION);
        UpdateStatement s = new UpdateStatement(r.string(), r.u64(), RoundNonce.of(r.bytes()), PayloadDigest.ofBytes(r.bytes()),
                new ClientId(r.string()), new KeyId(r.string()), SignatureScheme.parse(r.string()),
                PayloadDigest.ofBytes(r.bytes()), r.u64());
        r.end();
        return s;
    }

    /** The exact bytes that are signed. */
    public byte[] encode() {
        return new CanonicalWriter()
                .string(TAG).u16(VERSION)
                .string(federationId)
                .u64(round)
                .bytes(nonce.bytes())
                .bytes(baseModelDigest.bytes())
                .string(clientId.value())
                .string(keyId.hex())
                .string(scheme.displayName())
                .bytes(updateDigest.bytes())
                .u64(numExamples)
                .toByteArray();
    }
}
