package io.pqfl.coordinator.aggregate;

import io.pqfl.crypto.secagg.FixedPoint;

/** Test access to {@link SecureAggregation}'s package-private checks. */
public final class SecureAggregationChecks {
    private SecureAggregationChecks() {
    }

    public static void checkSum(long round, long[] sum, int inputs, FixedPoint encoding) {
        SecureAggregation.checkSum(round, sum, inputs, encoding);
    }
}
