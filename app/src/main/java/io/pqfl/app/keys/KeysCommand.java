package io.pqfl.app.keys;

import io.pqfl.app.Cli;
import io.pqfl.app.PasswordOptions;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pqfl keys}: generate, inspect and list signature keys. */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Generate and inspect post-quantum signature keys.",
        subcommands = {KeysCommand.Generate.class, KeysCommand.Show.class, KeysCommand.Schemes.class})
public final class KeysCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return Cli.USAGE;
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Generate a key pair: NAME.key (PKCS#8, owner-only) and NAME.pub (X.509).")
    static final class Generate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--scheme", defaultValue = "ML-DSA-65", paramLabel = "SCHEME",
                description = "Signature scheme (default: ${DEFAULT-VALUE}); see 'pqfl keys schemes'.")
        SignatureScheme scheme;

        @Option(names = "--out", required = true, paramLabel = "NAME",
                description = "Output path without extension; writes NAME.key and NAME.pub.")
        Path out;

        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            Path privateFile = Path.of(out + ".key");
            Path publicFile = Path.of(out + ".pub");
            char[] pw = password.password();
            SigningKey key = Keys.generate(scheme);
            KeyPem.writeKeyPair(key, privateFile, publicFile, pw);
            PrintWriter w = spec.commandLine().getOut();
            w.printf("Generated %s key %s%n", scheme, key.keyId());
            w.printf("  private: %s (%s, owner-only)%n", privateFile, pw == null ? "unencrypted" : "encrypted");
            w.printf("  public:  %s%n", publicFile);
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show a key file's scheme, key id and sizes.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "A .pub or .key PEM file.")
        Path file;

        @Mixin
        PasswordOptions password;

        @Override
        public Integer call() throws Exception {
            KeyPem.Loaded loaded = KeyPem.read(file, password.password());
            VerifyingKey key = loaded.verifyingKey();
            SignatureScheme s = key.scheme();
            PrintWriter w = spec.commandLine().getOut();
            w.printf("file:        %s%n", file);
            w.printf("kind:        %s%n", loaded.isPrivate() ? "private key (with its public key)" : "public key");
            w.printf("scheme:      %s (%s), %s%n", s, s.preStandardName(), s.standard());
            w.printf("NIST level:  %s%n", s.isPostQuantum() ? Integer.toString(s.nistLevel()) : "none (classical)");
            w.printf("key id:      %s%n", key.keyId());
            w.printf("public key:  %d bytes (X.509: %d bytes)%n", s.publicKeySize(), key.encoded().length);
            w.printf("signature:   %s%d bytes%s%n", s.family().hasFixedSignatureSize() ? "" : "up to ",
                    s.signatureSize(), s.isDeterministic() ? ", deterministic" : ", randomised");
            w.flush();
            return Cli.OK;
        }
    }

    @Command(name = "schemes", mixinStandardHelpOptions = true,
            description = "List the signature schemes with their security levels and sizes.")
    static final class Schemes implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter w = spec.commandLine().getOut();
            String format = "%-19s %-27s %-5s %10s %10s %-13s %s%n";
            w.printf(format, "SCHEME", "ALSO KNOWN AS", "LEVEL", "PUBKEY(B)", "SIG(B)", "SIGNING", "STANDARD");
            for (SignatureScheme s : SignatureScheme.values()) {
                w.printf(format, s.displayName(), s.preStandardName(),
                        s.isPostQuantum() ? Integer.toString(s.nistLevel()) : "-",
                        s.publicKeySize(),
                        (s.family().hasFixedSignatureSize() ? "" : "<=") + s.signatureSize(),
                        s.isDeterministic() ? "deterministic" : "randomised",
                        s.standard());
            }
            w.flush();
            return Cli.OK;
        }
    }
}
