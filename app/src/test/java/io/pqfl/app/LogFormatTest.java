package io.pqfl.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The shipped logback.xml: text lines by default, one JSON object per line with PQFL_LOG_FORMAT=json; others refused. */
class LogFormatTest {
    /** How the shipped configuration's console appender encodes one event under {@code format}. */
    private static String encoded(String format) throws Exception {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter()); // as the running context has
        try {
            JoranConfigurator c = new JoranConfigurator();
            c.setContext(context);
            c.doConfigure(LogFormatTest.class.getResource("/logback.xml"));
            LogFormat.apply(context, format);
            var root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
            @SuppressWarnings("unchecked")
            ConsoleAppender<ILoggingEvent> console = (ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR");
            LoggingEvent e = new LoggingEvent(LogFormatTest.class.getName(),
                    context.getLogger("io.pqfl.coordinator.round.TrainingDriver"), Level.INFO,
                    "Round {} open: a \"quoted\" line", null, new Object[] {3});
            return new String(console.getEncoder().encode(e), StandardCharsets.UTF_8);
        } finally {
            context.stop();
        }
    }

    @Test
    void textByDefault_jsonOnRequest_withTheMessageIntact() throws Exception {
        assertThat(encoded(null)).contains("INFO ").contains("TrainingDriver - Round 3 open: a \"quoted\" line");
        assertThat(encoded("text")).contains("INFO ").doesNotContain("{\"");
        JsonNode line = new ObjectMapper().readTree(encoded("json").strip());
        assertThat(line.get("level").asText()).isEqualTo("INFO");
        assertThat(line.get("loggerName").asText()).isEqualTo("io.pqfl.coordinator.round.TrainingDriver");
        assertThat(line.get("formattedMessage").asText()).isEqualTo("Round 3 open: a \"quoted\" line");
        assertThatThrownBy(() -> LogFormat.apply(new LoggerContext(), "xml"))
                .hasMessageContaining("PQFL_LOG_FORMAT=xml is not a log format");
    }
}
