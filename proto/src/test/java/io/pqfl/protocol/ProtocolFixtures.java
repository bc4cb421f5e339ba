package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.testing.TestKeys;
import java.util.List;

/** Small models and statements shared by protocol, coordinator and client tests. */
public final class ProtocolFixtures {
    public static final String FEDERATION = "fed-test";
    public static final ModelManifest TINY = new ModelManifest("tiny",
            List.of(TensorSpec.of("w", 2, 3), TensorSpec.of("b", 3)));

    /** A ledger head for model statements in tests: 64 bytes 0x5a (the engine signs its real ledger's head). */
    public static final LedgerHead LEDGER_HEAD = LedgerHead.ofHex("5a".repeat(LedgerHead.BYTES));

    private ProtocolFixtures() {
    }

    /** A copy of {@code m} with every value shifted by {@code delta}: what a test client "trains". */
    public static ModelWeights plus(ModelWeights m, float delta) {
        ModelWeights c = m.copy();
        for (int t = 0; t < c.tensorCount(); t++) {
            float[] v = c.tensor(t);
            for (int i = 0; i < v.length; i++) {
                v[i] += delta;
            }
        }
        return c;
    }

    /** A tiny model whose values are {@code base + index}. */
    public static ModelWeights tiny(float base) {
        float[] w = new float[6];
        for (int i = 0; i < 6; i++) {
            w[i] = base + i;
        }
        return ModelWeights.of(TINY, new float[][] {w, {base, base + 1, base + 2}});
    }

    public static UpdateStatement updateStatement(SigningKey key, ClientId client, long round, RoundNonce nonce,
                                                  PayloadDigest base, ModelWeights update, long examples) {
        return updateHeader(key, client, round, nonce, base, update.manifest(), examples).statement(update.digest());
    }

    /** The header a client with {@code key} sends for an update of {@code manifest} in {@code round}. */
    public static UpdateHeader updateHeader(SigningKey key, ClientId client, long round, RoundNonce nonce,
                                            PayloadDigest base, ModelManifest manifest, long examples) {
        return new UpdateHeader(FEDERATION, round, nonce, client, key.keyId(), key.scheme(), base, manifest, examples,
                manifest.totalBytes());
    }

    public static SigningKey coordinatorKey() {
        return TestKeys.key(SignatureScheme.ML_DSA_65);
    }
}
