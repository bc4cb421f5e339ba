package io.pqfl.client.agent;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Training progress: a progress bar on a terminal, a log line every 25 % otherwise. */
public final class LogProgress implements ClientAgent.Progress {
    private static final Logger log = LoggerFactory.getLogger(LogProgress.class);
    private final boolean terminal;
    private ProgressBar bar;
    private long lastQuarter = -1;

    public LogProgress(boolean terminal) {
        this.terminal = terminal;
    }

    /** A progress bar when standard output is a console. */
    public static LogProgress auto() {
        return new LogProgress(System.console() != null);
    }

    @Override
    public void update(long round, long done, long total) {
        if (terminal) {
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName("round " + round).setInitialMax(total)
                        .setStyle(ProgressBarStyle.ASCII).setUnit(" ex", 1).build();
            }
            bar.stepTo(done);
            return;
        }
        long quarter = done * 4 / Math.max(1, total);
        if (quarter != lastQuarter) {
            lastQuarter = quarter;
            log.info("Round {}: trained {} of {} examples ({} %)", round, done, total, done * 100 / Math.max(1, total));
        }
    }

    @Override
    public void roundDone(long round) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        lastQuarter = -1;
    }
}
