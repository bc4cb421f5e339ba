package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import java.util.Objects;

/**
 * One update an aggregator folded into its partial aggregate (docs/PROTOCOL.md, "Partial-aggregate statement"):
 * whose it is, its digest and example count, and its client's own signature over its update statement in the
 * aggregator's child round, so the parent can check that the client really sent it ({@link #childStatement}).
 */
public record PartialReceiptEntry(ClientId clientId, PayloadDigest updateDigest, long numExamples, KeyId keyId,
                                  SignatureScheme scheme, byte[] signature) {
    public PartialReceiptEntry {
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(updateDigest, "updateDigest");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(scheme, "scheme");
        signature = Objects.requireNonNull(signature, "signature").clone();
        if (numExamples < 1) {
            throw new IllegalArgumentException("a receipt entry counts at least one example, got " + numExamples);
        }
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    public SignatureValue signatureValue() {
        return SignatureValue.of(scheme, signature);
    }

    /** The entry without the client's signature, as a model statement's receipt lists it. */
    public ReceiptEntry receiptEntry() {
        return new ReceiptEntry(clientId, updateDigest, numExamples);
    }

    /**
     * The update statement this entry's client signed in the aggregator's child round: the child federation, round
     * and nonce, and the base model, which is the parent round's (an aggregator trains its clients on the model its
     * parent sent it).
     */
    public UpdateStatement childStatement(String childFederationId, long childRound, RoundNonce childNonce,
                                          PayloadDigest baseModelDigest) {
        return new UpdateStatement(childFederationId, childRound, childNonce, baseModelDigest, clientId, keyId, scheme,
                updateDigest, numExamples);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PartialReceiptEntry e && clientId.equals(e.clientId) && updateDigest.equals(e.updateDigest)
                && numExamples == e.numExamples && keyId.equals(e.keyId) && scheme == e.scheme
                && java.util.Arrays.equals(signature, e.signature);
    }

    @Override
    public int hashCode() {
        return Objects.hash(clientId, updateDigest, numExamples, keyId);
    }

    @Override
    public String toString() {
        return "PartialReceiptEntry[" + clientId + ", " + numExamples + " examples, " + updateDigest + "]";
    }
}
