package io.pqfl.sim.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CryptoBenchmarkTest {
    @Test
    void percentile_medianAndP99_nearestRank() {
        long[] sorted = new long[100];
        for (int i = 0; i < 100; i++) {
            sorted[i] = i + 1;
        }
        assertThat(CryptoBenchmark.percentile(sorted, 50)).isEqualTo(50.5);
        assertThat(CryptoBenchmark.percentile(sorted, 99)).isEqualTo(99.0);
        assertThat(CryptoBenchmark.percentile(new long[] {1, 2, 9}, 50)).isEqualTo(2.0);
        assertThat(CryptoBenchmark.latency(List.of(3_000_000L, 1_000_000L, 2_000_000L)).medianMs()).isEqualTo(2.0);
    }

    @Test
    void formatSize_showsTheLargestExactBinaryUnit() {
        assertThat(BenchReport.formatSize(64 << 10)).isEqualTo("64 KiB");
        assertThat(BenchReport.formatSize(10L << 20)).isEqualTo("10 MiB");
        assertThat(BenchReport.formatSize(300)).isEqualTo("300 B");
    }
}
