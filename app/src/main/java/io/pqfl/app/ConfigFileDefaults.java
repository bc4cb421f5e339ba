package io.pqfl.app;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * Lets a command read its options from a properties file given with {@code --config FILE}: each key is an
 * option's long name without the dashes ({@code rounds=10}, {@code strategy=fedmedian}). Options given on
 * the command line win over the file; the file wins over built-in defaults.
 */
public final class ConfigFileDefaults implements CommandLine.IDefaultValueProvider {
    private final Properties properties;
    private final Path file;

    private ConfigFileDefaults(Path file, Properties properties) {
        this.file = file;
        this.properties = properties;
    }

    /** Installs the provider on every (sub)command with a {@code --config} option, if {@code args} name a file. */
    public static void install(CommandLine root, String[] args) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[i + 1]);
            } else if (args[i].startsWith("--config=")) {
                file = Path.of(args[i].substring("--config=".length()));
            }
        }
        if (file == null) {
            return;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new CliException(file + ": cannot read config file: " + e.getMessage(), e);
        }
        install(invoked(root, args), new ConfigFileDefaults(file, p));
    }

    /**
     * The (sub)command {@code args} invoke: the leading words that name subcommands ({@code pqfl coordinator ...},
     * {@code pqfl keys show ...}). The file's settings are checked against that command's options only: a
     * coordinator's file may hold settings the client does not have.
     */
    private static CommandLine invoked(CommandLine root, String[] args) {
        CommandLine cmd = root;
        for (String a : args) {
            CommandLine sub = a.startsWith("-") ? null : cmd.getSubcommands().get(a);
            if (sub == null) {
                break;
            }
            cmd = sub;
        }
        return cmd;
    }

    private static void install(CommandLine cmd, ConfigFileDefaults provider) {
        if (cmd.getCommandSpec().findOption("--config") == null) {
            throw new CliException("'" + cmd.getCommandName() + "' takes no --config file");
        }
        cmd.setDefaultValueProvider(provider);
        for (String key : provider.properties.stringPropertyNames()) {
            if (cmd.getCommandSpec().findOption("--" + key) == null) {
                throw new CliException(provider.file + ": unknown setting '" + key + "' for '"
                        + cmd.getCommandName() + "'");
            }
        }
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (arg instanceof OptionSpec option) {
            String name = option.longestName().replaceFirst("^--", "");
            String value = properties.getProperty(name);
            if (value != null) {
                return value;
            }
        }
        return arg.defaultValue();
    }
}
