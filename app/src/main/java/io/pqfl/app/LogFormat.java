package io.pqfl.app;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import java.util.Iterator;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * {@code PQFL_LOG_FORMAT=json} (environment, or the system property of the same name): the console log becomes one
 * JSON object per line (logback's {@link JsonEncoder}: timestamp, level, thread, logger, the formatted message, ...)
 * for a log collector; {@code text} (the default) keeps the lines for people. Any other value is refused.
 */
public final class LogFormat {
    public static final String VARIABLE = "PQFL_LOG_FORMAT";

    private LogFormat() {
    }

    /** Applies the format the environment or system properties ask for to the running logback, if any. */
    public static void fromEnvironment() {
        String format = System.getProperty(VARIABLE, System.getenv(VARIABLE));
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            apply(context, format);
        }
    }

    /**
     * Gives every console appender of {@code context}'s root logger the encoder {@code format} names (null or
     * {@code text}: as configured).
     *
     * @throws UsageException for a format other than text or json
     */
    public static void apply(LoggerContext context, String format) {
        if (format == null || format.isBlank() || format.equalsIgnoreCase("text")) {
            return;
        }
        if (!format.toLowerCase(Locale.ROOT).equals("json")) {
            throw new UsageException(VARIABLE + "=" + format + " is not a log format: use text or json");
        }
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof ConsoleAppender<ILoggingEvent> console) {
                JsonEncoder json = new JsonEncoder();
                json.setContext(context);
                json.setWithFormattedMessage(true);
                json.start();
                console.stop();
                console.setEncoder(json);
                console.start();
            }
        }
    }
}
