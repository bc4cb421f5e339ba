package io.pqfl.sim.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.crypto.SignatureScheme;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class CoordinatorBenchmarkTest {
    @Test
    void median_oddAndEvenCounts_doesNotReorderTheInput() {
        double[] odd = {5, 1, 3};
        assertThat(CoordinatorBenchmark.median(odd)).isEqualTo(3.0);
        assertThat(odd).containsExactly(5, 1, 3);
        assertThat(CoordinatorBenchmark.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
    }

    @Test
    void compare_smallRound_verifiesEveryUpdateAndReportsBothSpeeds() throws Exception {
        // A tensor that does not fill its last 1 MiB chunk, more clients than distinct payloads would need.
        ModelManifest manifest = new ModelManifest("t", List.of(TensorSpec.of("w", 300_001), TensorSpec.of("b", 3)));
        CoordinatorBenchmark.Fixture f = CoordinatorBenchmark.fixture(manifest, 3, SignatureScheme.ML_DSA_44);

        CoordinatorBenchmark.Comparison c = f.compare(3, 1, "fedavg");

        assertThat(c.runs()).isEqualTo(3);
        assertThat(c.perSecond()).isPositive();
        assertThat(c.mbPerSecond()).isPositive();
        assertThat(c.sha512MbPerSecond()).isPositive();
        assertThat(c.ratio()).isPositive();
        assertThat(c.peakHeapMib()).isPositive();
    }
}
