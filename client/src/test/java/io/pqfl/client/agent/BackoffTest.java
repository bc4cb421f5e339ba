package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private static final Duration INITIAL = Duration.ofMillis(250);
    private static final Duration CAP = Duration.ofSeconds(30);

    private static long[] delays(Backoff b, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = b.next().toMillis();
        }
        return out;
    }

    @Test
    void next_theNthDelayIsWithinHalfToAllOfItsDoubledCeiling_untilTheCap() {
        for (long seed = 0; seed < 200; seed++) {
            long[] d = delays(new Backoff(INITIAL, CAP, new Random(seed)), 12);
            for (int n = 0; n < d.length; n++) {
                long ceiling = Math.min(250L << n, 30_000);
                assertThat(d[n]).as("seed %d, attempt %d", seed, n).isBetween(ceiling / 2, ceiling);
            }
        }
    }

    @Test
    void next_neverExceedsTheCap_evenAfterManyAttempts() {
        Backoff b = new Backoff(INITIAL, CAP, new Random(7));
        for (int i = 0; i < 10_000; i++) {
            assertThat(b.next()).isLessThanOrEqualTo(CAP);
        }
        assertThat(new Backoff(Duration.ofSeconds(5), Duration.ofSeconds(1), new Random(7)).next())
                .as("an initial delay above the cap is capped too").isLessThanOrEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void next_jitterSpreadsOverTheWholeRange_soClientsCutOffTogetherDoNotReturnTogether() {
        List<Long> firsts = new ArrayList<>();
        List<Long> capped = new ArrayList<>();
        Random random = new Random(5);
        for (int client = 0; client < 1_000; client++) {
            long[] d = delays(new Backoff(INITIAL, CAP, random), 10);
            firsts.add(d[0]);
            capped.add(d[9]);
        }
        assertThat(firsts.stream().distinct().count()).isGreaterThan(50);
        assertThat(firsts.stream().mapToLong(Long::longValue).min().orElseThrow()).isLessThan(140);
        assertThat(firsts.stream().mapToLong(Long::longValue).max().orElseThrow()).isGreaterThan(240);
        assertThat(capped.stream().mapToLong(Long::longValue).min().orElseThrow()).isLessThan(16_000);
        assertThat(capped.stream().mapToLong(Long::longValue).max().orElseThrow()).isGreaterThan(29_000);
    }

    @Test
    void next_isReproducibleForASeed() {
        assertThat(delays(new Backoff(INITIAL, CAP, new Random(42)), 8))
                .containsExactly(delays(new Backoff(INITIAL, CAP, new Random(42)), 8));
    }

    @Test
    void reset_startsAgainFromTheInitialCeiling() {
        Backoff b = new Backoff(INITIAL, CAP, new Random(3));
        delays(b, 20);
        b.reset();
        assertThat(b.next().toMillis()).isBetween(125L, 250L);
    }

    @Test
    void constructor_refusesADelayThatIsNotPositive() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, CAP, new Random())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(INITIAL, Duration.ofMillis(-1), new Random()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
