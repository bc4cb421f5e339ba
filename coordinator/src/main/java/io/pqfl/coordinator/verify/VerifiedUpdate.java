package io.pqfl.coordinator.verify;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ReceiptEntry;
import io.pqfl.protocol.UpdateStatement;

/**
 * An update whose every check passed and whose signature verified (in the unsigned research baseline, whose
 * every check but the signature's passed). Only {@link UpdateVerifier} can create one (the constructor is
 * package-private), and aggregation strategies accept nothing else, so an unverified update cannot reach a
 * model by construction.
 */
public final class VerifiedUpdate {
    private final UpdateStatement statement;
    private final SignatureValue signature;
    private final ModelWeights weights;

    VerifiedUpdate(UpdateStatement statement, SignatureValue signature, ModelWeights weights) {
        this.statement = statement;
        this.signature = signature;
        this.weights = weights;
    }

    public UpdateStatement statement() {
        return statement;
    }

    public SignatureValue signature() {
        return signature;
    }

    /** The update's tensors; strategies read them and must not change them. */
    public ModelWeights weights() {
        return weights;
    }

    public ClientId clientId() {
        return statement.clientId();
    }

    public long numExamples() {
        return statement.numExamples();
    }

    public PayloadDigest digest() {
        return statement.updateDigest();
    }

    public ReceiptEntry receiptEntry() {
        return new ReceiptEntry(clientId(), digest(), numExamples());
    }

    @Override
    public String toString() {
        return "VerifiedUpdate[" + clientId() + ", round " + statement.round() + ", " + numExamples() + " examples]";
    }
}
