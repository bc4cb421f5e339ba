package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The wait every test uses must fail when what it awaits never happens, and say what that was. */
class AwaitTest {
    @Test
    void returnsOnceTheConditionHolds() {
        AtomicInteger checks = new AtomicInteger();
        Await.until(Duration.ofSeconds(5), "the third check", () -> checks.incrementAndGet() == 3);
        assertThat(checks).hasValue(3);
    }

    @Test
    void failsTheTest_namingWhatItAwaited_andWhyWhenTold() {
        assertThatThrownBy(() -> Await.until(Duration.ofMillis(50), "a thing that never happens", () -> false,
                () -> "the log said nothing"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("timed out after 50 ms waiting for a thing that never happens")
                .hasMessageContaining("the log said nothing");
    }

    @Test
    void aConditionThatThrows_failsAtOnce() {
        assertThatThrownBy(() -> Await.until(Duration.ofSeconds(5), "a file", () -> {
            throw new IOException("no such file");
        })).isInstanceOf(AssertionError.class).hasMessageContaining("could not check a file").hasRootCauseMessage("no such file");
    }
}
