package io.pqfl.coordinator.evaluate;

import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.proto.v1.EvaluationReport;
import io.pqfl.protocol.ClientMetrics;
import io.pqfl.protocol.EvaluationStatement;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.WireMapping;
import java.util.Map;

/**
 * The checks on an evaluation report that the state machine does not make (it decides who may submit for which
 * round): that the report is for this federation, this evaluation's nonce and model, that its values are finite and
 * bounded, its metric names valid, its example count within the coordinator's bound, and that the signature over
 * the statement rebuilt from it verifies. Each failure is a refusal with its own reason.
 */
public final class EvaluationChecks {
    private EvaluationChecks() {
    }

    /** What a report is checked against: the open evaluation. */
    public record Context(String federationId, long round, RoundNonce nonce, PayloadDigest modelDigest) {
    }

    /**
     * The statement the report claims, attributed to {@code keyId}/{@code scheme}, once every content check passed.
     */
    public static EvaluationStatement statement(EvaluationReport r, Context ctx, KeyId keyId, SignatureScheme scheme,
                                                long maxExamples) throws RefusedException {
        if (!ctx.federationId().equals(r.getFederationId())) {
            throw new RefusedException(RejectReason.WRONG_FEDERATION, "evaluation is for federation '"
                    + LogSafe.text(r.getFederationId()) + "', this is '" + ctx.federationId() + "'");
        }
        if (r.getNonce().size() != RoundNonce.BYTES || !ctx.nonce().equals(RoundNonce.of(r.getNonce().toByteArray()))) {
            throw new RefusedException(RejectReason.NONCE_MISMATCH, "nonce does not match the evaluation of round "
                    + ctx.round() + "'s model");
        }
        if (r.getModelDigest().size() != PayloadDigest.BYTES
                || !ctx.modelDigest().matches(PayloadDigest.ofBytes(r.getModelDigest().toByteArray()))) {
            throw new RefusedException(RejectReason.BASE_MODEL_MISMATCH, "the evaluation is of another model than round "
                    + ctx.round() + "'s (" + ctx.modelDigest() + ")");
        }
        if (!ClientMetrics.inBounds(r.getLoss())) {
            throw new RefusedException(RejectReason.NON_FINITE, "loss " + r.getLoss() + " is not finite or not within ±"
                    + ClientMetrics.MAX_ABS);
        }
        if (r.getMetricsCount() > ClientMetrics.MAX_ENTRIES) {
            throw new RefusedException(RejectReason.MALFORMED, r.getMetricsCount() + " metrics, at most "
                    + ClientMetrics.MAX_ENTRIES + " allowed");
        }
        for (Map.Entry<String, Double> m : r.getMetricsMap().entrySet()) {
            try {
                ClientMetrics.checkName(m.getKey());
            } catch (IllegalArgumentException e) {
                throw new RefusedException(RejectReason.MALFORMED, LogSafe.text(e.getMessage()));
            }
            if (!ClientMetrics.inBounds(m.getValue())) {
                throw new RefusedException(RejectReason.NON_FINITE, "metric " + m.getKey() + " = " + m.getValue()
                        + " is not finite or not within ±" + ClientMetrics.MAX_ABS);
            }
        }
        long n = r.getNumExamples();
        if (n <= 0 || n > maxExamples) {
            throw new RefusedException(RejectReason.BAD_EXAMPLE_COUNT, "example count must be in 1.." + maxExamples
                    + " (this coordinator's bound), got " + Long.toUnsignedString(n));
        }
        try {
            return WireMapping.evaluationStatement(r, keyId, scheme);
        } catch (IllegalArgumentException e) {
            throw new RefusedException(RejectReason.MALFORMED, "malformed evaluation report: " + LogSafe.text(e.getMessage()));
        }
    }

    /** The client's signature over {@code s} must verify with its enrolled {@code key}. */
    public static void verify(EvaluationStatement s, VerifyingKey key, byte[] signature) throws RefusedException {
        if (signature.length == 0) {
            throw new RefusedException(RejectReason.BAD_SIGNATURE, "the evaluation carries no signature, and this "
                    + "federation requires signed evaluations");
        }
        try {
            s.verify(key, SignatureValue.of(key.scheme(), signature));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new RefusedException(RejectReason.BAD_SIGNATURE, "the evaluation's signature does not verify: "
                    + LogSafe.text(e.getMessage()));
        }
    }
}
