package io.pqfl.app.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.app.Pqfl;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.sim.load.LoadRun;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 500 concurrent clients, each on its own TLS connection (hybrid X25519MLKEM768) from its own loopback
 * address and admitted by its ML-DSA certificate, against a real coordinator process held to a 384 MiB heap,
 * for three rounds of real signed MLP-sized updates. About a minute on two cores; CI runs it once, on JDK 17.
 */
@Tag("load")
class LoadRunTest {
    @TempDir
    Path dir;

    @Test
    void fiveHundredClients_threeRounds_nothingLostOrCountedTwice_heapBounded() throws Exception {
        LoadRun.Settings settings = new LoadRun.Settings(500, 3, ModelCatalog.MLP, SignatureScheme.ML_DSA_65, true, true, "384m",
                Duration.ofMinutes(5));
        LoadRun.Result r = LoadRun.run(settings, Pqfl.class.getName(), dir, line -> { });
        assertThat(r.clientErrors()).isZero();
        assertThat(r.rejected()).isZero();
        assertThat(r.accepted()).isEqualTo(1500);
        assertThat(r.receiptsExact()).as("each signed model's receipt lists every client exactly once").isTrue();
        assertThat(r.ledgerVerified()).isTrue();
        // Every update counted exactly once: the model moved by exactly the mean shift each round.
        assertThat(r.maxModelError()).isLessThan(1e-4);
        assertThat(r.tlsGroup()).isEqualTo("X25519MLKEM768");
        assertThat(r.certified()).as("every client admitted by its ML-DSA certificate, once").isEqualTo(500);
        assertThat(r.peakHeapSampledMib()).isGreaterThan(0).isLessThanOrEqualTo(384);
        assertThat(r.ok()).isTrue();
    }
}
