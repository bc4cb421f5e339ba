package io.pqfl.protocol;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Verifier;
import io.pqfl.crypto.VerifyingKey;
import java.util.Objects;

/** A model statement with the coordinator's signature over it. */
public record SignedModel(ModelStatement statement, SignatureValue signature) {
    public SignedModel {
        Objects.requireNonNull(statement, "statement");
        Objects.requireNonNull(signature, "signature");
    }

    /**
     * Checks, in this order, that the statement names the pinned coordinator key, that the signature over
     * the statement verifies with it, that the statement is for the expected federation, and that the
     * digest computed over the received bytes is the one the statement signs.
     *
     * @throws ModelRejectedException saying which check failed
     */
    public void verify(VerifyingKey pinnedCoordinatorKey, String expectedFederationId, PayloadDigest computedDigest)
            throws ModelRejectedException {
        if (!statement.coordinatorKeyId().equals(pinnedCoordinatorKey.keyId())
                || statement.scheme() != pinnedCoordinatorKey.scheme()) {
            throw new ModelRejectedException("model signed by key " + statement.coordinatorKeyId() + " ("
                    + statement.scheme() + "), not by the pinned coordinator key " + pinnedCoordinatorKey.keyId());
        }
        try {
            Verifier.create(pinnedCoordinatorKey).verify(statement.encode(), signature);
        } catch (SignatureVerificationException e) {
            throw new ModelRejectedException("model signature does not verify with the pinned coordinator key: "
                    + e.getMessage(), e);
        }
        if (!statement.federationId().equals(expectedFederationId)) {
            throw new ModelRejectedException("model is for federation " + statement.federationId() + ", not "
                    + expectedFederationId);
        }
        if (!statement.modelDigest().matches(computedDigest)) {
            throw new ModelRejectedException("model bytes do not match the signed digest (signed "
                    + statement.modelDigest() + ", received " + computedDigest + ")");
        }
    }
}
