package io.pqfl.app.sim;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.filter.ThresholdFilter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * The quiet console of {@code pqfl simulate}: every log line (the coordinator's, every client's, DJL's) goes to
 * {@code simulate.log} in the run directory, and the console keeps only errors, so a person sees the run's progress
 * lines and its summary; {@code --verbose} keeps the full log on the console as well. Closing restores the console.
 */
final class RunLog implements AutoCloseable {
    static final String FILE = "simulate.log";

    private final Logger root;
    private final FileAppender<ILoggingEvent> file;
    private final List<Appender<ILoggingEvent>> quieted = new ArrayList<>();
    private final List<ThresholdFilter> filters = new ArrayList<>();

    private RunLog(Logger root, FileAppender<ILoggingEvent> file) {
        this.root = root;
        this.file = file;
    }

    /** Sends the log to {@code dir/simulate.log}; unless {@code verbose}, the console keeps errors only. */
    static RunLog to(Path dir, boolean verbose) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return new RunLog(null, null); // another logging binding: leave it as configured
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n");
        encoder.start();
        FileAppender<ILoggingEvent> file = new FileAppender<>();
        file.setContext(context);
        file.setName("pqfl-run-log");
        file.setFile(dir.resolve(FILE).toString());
        file.setEncoder(encoder);
        file.start();
        RunLog log = new RunLog(root, file);
        if (!verbose) {
            for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
                Appender<ILoggingEvent> a = it.next();
                ThresholdFilter errorsOnly = new ThresholdFilter();
                errorsOnly.setLevel(Level.ERROR.levelStr);
                errorsOnly.start();
                a.addFilter(errorsOnly);
                log.quieted.add(a);
                log.filters.add(errorsOnly);
            }
        }
        root.addAppender(file);
        return log;
    }

    @Override
    public void close() {
        if (root == null) {
            return;
        }
        root.detachAppender(file);
        file.stop();
        for (int i = 0; i < quieted.size(); i++) {
            Appender<ILoggingEvent> a = quieted.get(i);
            ThresholdFilter f = filters.get(i);
            List<ch.qos.logback.core.filter.Filter<ILoggingEvent>> keep = new ArrayList<>(a.getCopyOfAttachedFiltersList());
            keep.remove(f);
            a.clearAllFilters();
            keep.forEach(a::addFilter);
        }
    }
}
