package io.pqfl.app.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.sim.SimulationRunner.RoundProgress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import org.junit.jupiter.api.Test;

class ArmProgressTest {
    @Test
    void bar_showsRoundOfRounds_updatesSoFar_andReportedAccuracy_thenTheHeldLines() {
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        StringWriter text = new StringWriter();
        try (ArmProgress p = ArmProgress.bar(new PrintWriter(text), "ML-DSA-65", 3,
                new ConsoleProgressBarConsumer(new PrintStream(terminal, true, StandardCharsets.UTF_8), 120))) {
            p.accept("ML-DSA-65: 8 virtual clients joining over 2 connections");
            p.round(new RoundProgress("ML-DSA-65", 1, 3, true, 8, 1, null, null));
            p.round(new RoundProgress("ML-DSA-65", 2, 3, false, 0, 0, null, null));
            p.round(new RoundProgress("ML-DSA-65", 3, 3, true, 8, 0, 0.79, null));
            assertThat(text.toString()).as("lines wait until the bar is done").isEmpty();
        }
        String bar = terminal.toString(StandardCharsets.UTF_8);
        String last = bar.substring(bar.lastIndexOf('\r') + 1);
        assertThat(last).contains("ML-DSA-65").contains("3/3").contains(" 16 accepted, 1 rejected, 1 skipped, acc 0.790");
        assertThat(text.toString()).isEqualTo("    ML-DSA-65: 8 virtual clients joining over 2 connections" + System.lineSeparator());
    }

    @Test
    void lines_oneLinePerRound_asInALogOrCi() {
        StringWriter text = new StringWriter();
        try (ArmProgress p = ArmProgress.lines(new PrintWriter(text))) {
            p.round(new RoundProgress("none", 1, 5, true, 8, 0, 0.5, null));
            p.accept("something else");
        }
        assertThat(text.toString()).isEqualTo("    none: round 1 done (8 accepted, 0 rejected)" + System.lineSeparator()
                + "    something else" + System.lineSeparator());
    }
}
