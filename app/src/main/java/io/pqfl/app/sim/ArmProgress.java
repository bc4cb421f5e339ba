package io.pqfl.app.sim;

import io.pqfl.sim.SimulationRunner;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * How {@code pqfl simulate} shows one arm going: on a terminal, a live progress bar (round r/R, updates accepted and
 * rejected so far, the accuracy the last round's clients reported), with the arm's other lines printed under it when
 * it ends; elsewhere (a log, CI, {@code --verbose}), one line per round as before.
 */
final class ArmProgress implements SimulationRunner.Progress, AutoCloseable {
    private final PrintWriter out;
    private final ProgressBar bar;
    private final List<String> held = new ArrayList<>();
    private long accepted;
    private long rejected;
    private long skipped;

    private ArmProgress(PrintWriter out, ProgressBar bar) {
        this.out = out;
        this.bar = bar;
    }

    /** One line per round on {@code out}. */
    static ArmProgress lines(PrintWriter out) {
        return new ArmProgress(out, null);
    }

    /** A live bar for {@code arm}'s {@code rounds} rounds drawn by {@code consumer}; other lines go to {@code out} at the end. */
    static ArmProgress bar(PrintWriter out, String arm, long rounds, ProgressBarConsumer consumer) {
        out.flush();
        ProgressBar bar = new ProgressBarBuilder().setTaskName(arm).setInitialMax(rounds).setUnit(" rounds", 1)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate()
                .setConsumer(consumer).hideEta().build();
        bar.setExtraMessage("waiting for clients");
        return new ArmProgress(out, bar);
    }

    /** A bar on the terminal when there is one (standard output not redirected); lines otherwise. */
    static ArmProgress forConsole(PrintWriter out, String arm, long rounds, boolean verbose) {
        return !verbose && interactive() ? bar(out, arm, rounds, new ConsoleProgressBarConsumer(System.out)) : lines(out);
    }

    /** Whether standard output is a terminal: {@code System.console()}, and on JDK 22+ its {@code isTerminal()}. */
    static boolean interactive() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true; // JDK 17-21: a console exists only for a terminal
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    @Override
    public synchronized void accept(String line) {
        if (bar == null) {
            out.println("    " + line);
            out.flush();
        } else {
            held.add(line);
        }
    }

    @Override
    public synchronized void round(SimulationRunner.RoundProgress r) {
        if (bar == null) {
            accept(r.line());
            return;
        }
        accepted += r.accepted();
        rejected += r.rejected();
        skipped += r.completed() ? 0 : 1;
        bar.stepTo(r.round());
        bar.setExtraMessage(String.format(Locale.ROOT, "%d accepted, %d rejected%s%s", accepted, rejected,
                skipped == 0 ? "" : ", " + skipped + " skipped",
                r.reportedAccuracy() == null ? "" : String.format(Locale.ROOT, ", acc %.3f", r.reportedAccuracy())));
        if (r.dp() != null) {
            held.add(r.line());
        }
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            held.forEach(l -> out.println("    " + l));
            out.flush();
        }
    }
}
