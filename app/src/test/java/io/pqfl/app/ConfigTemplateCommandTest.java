package io.pqfl.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Every option of a configurable command is in its config template, and the template's defaults read back. */
class ConfigTemplateCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = Pqfl.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return Cli.run(cmd, args);
    }

    @Test
    void everyOptionOfEachConfigurableCommandIsInItsTemplate_andTheDefaultsReadBackAsAConfigFile() throws Exception {
        for (String command : List.of("coordinator", "client", "simulate")) {
            out.getBuffer().setLength(0);
            assertThat(run("config-template", command)).as(command).isEqualTo(Cli.OK);
            String template = out.toString();
            CommandLine target = Pqfl.commandLine().getSubcommands().get(command);
            int keys = 0;
            for (OptionSpec o : target.getCommandSpec().options()) {
                String key = ConfigTemplateCommand.key(o);
                if (key != null) {
                    assertThat(template).as(command + " --" + key).contains("\n#" + key + "=");
                    keys++;
                }
            }
            assertThat(keys).as(command).isGreaterThan(10);
            // Uncomment every line that has a value: a config file of the defaults, which the command must accept.
            String config = template.lines().filter(l -> l.matches("#[a-z0-9-]+=.+")).map(l -> l.substring(1))
                    .collect(Collectors.joining("\n"));
            Path file = dir.resolve(command + ".properties");
            Files.writeString(file, config);
            err.getBuffer().setLength(0);
            assertThat(run(command, "--config", file.toString(), "--help")).as(command + ": " + err).isEqualTo(Cli.OK);
        }
    }

    @Test
    void aCommandWithoutConfigFiles_isRefusedWithTheOnesThatTakeThem() {
        assertThat(run("config-template", "keys")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("'keys' takes no --config file; these do:").contains("coordinator");
    }
}
