package io.pqfl.coordinator.verify;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.UpdateStatement;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;

/** Makes real, signed and verified updates for strategy tests (through the verifier, never around it). */
public final class VerifiedUpdates {
    /** A one-tensor model of the given values: small enough to check aggregation by hand. */
    public static final ModelManifest VECTOR = new ModelManifest("vector", List.of(TensorSpec.of("x", 3)));

    private static int counter;

    private VerifiedUpdates() {
    }

    public static ModelWeights vector(float... values) {
        return ModelWeights.of(new ModelManifest("vector", List.of(TensorSpec.of("x", values.length))), new float[][] {values.clone()});
    }

    public static VerifiedUpdate of(ModelWeights weights, long examples) {
        try {
            SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
            ClientId client = new ClientId("u" + (++counter));
            UpdateStatement st = ProtocolFixtures.updateStatement(key, client, 1, RoundNonce.of(new byte[32]),
                    weights.digest(), weights, examples);
            UpdateVerifier verifier = new UpdateVerifier(TrustStore.open(Files.createTempDirectory("trust")),
                    Set.of(SignatureScheme.ML_DSA_44), 1 << 20);
            return verifier.reverify(st, key.verifyingKey(), Signer.create(key).sign(st.encode()), weights);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
