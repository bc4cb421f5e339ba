package io.pqfl.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainersTest {
    static final ModelManifest MANIFEST = new ModelManifest("fixture", List.of(TensorSpec.of("w", 3)));

    /** Registered in this module's test resources under the name "fixture". */
    public static final class FixtureFactory implements TrainerFactory {
        @Override
        public String name() {
            return "fixture";
        }

        @Override
        public String description() {
            return "a test fixture";
        }

        @Override
        public Trainer create(TrainerOptions options) throws TrainerException {
            options.rejectUnknown(java.util.Set.of("scale"));
            return new OptionsTrainer(options);
        }
    }

    /** A trainer built from options: adds {@code scale} to every weight. */
    public static final class OptionsTrainer implements Trainer {
        final double scale;
        final ClassLoader contextLoader = Thread.currentThread().getContextClassLoader();

        public OptionsTrainer(TrainerOptions options) throws TrainerException {
            this.scale = options.getDouble("scale", 1);
        }

        @Override
        public ModelManifest manifest() {
            return MANIFEST;
        }

        @Override
        public FitResult fit(ModelWeights global, TrainContext context) {
            ModelWeights w = global.copy();
            for (int i = 0; i < w.tensor(0).length; i++) {
                w.tensor(0)[i] += (float) scale;
            }
            return new FitResult(w, 1, Map.of(Metrics.LOSS, 0.0));
        }

        @Override
        public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
            return new EvaluateResult(0, 0, Map.of());
        }
    }

    /** A trainer with only a no-argument constructor. */
    public static final class PlainTrainer extends NoArgBase {
    }

    public static class NoArgBase implements Trainer {
        @Override
        public ModelManifest manifest() {
            return MANIFEST;
        }

        @Override
        public FitResult fit(ModelWeights global, TrainContext context) {
            return FitResult.of(global, 1);
        }

        @Override
        public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
            return new EvaluateResult(0, 0, Map.of());
        }
    }

    /** A trainer that cannot be built: its only constructor takes something else. */
    public static final class Unbuildable extends NoArgBase {
        public Unbuildable(String s) {
        }
    }

    @Test
    void find_registeredName_returnsThatFactory() throws Exception {
        TrainerFactory f = Trainers.find("fixture", null);
        assertThat(f).isInstanceOf(FixtureFactory.class);
        assertThat(Trainers.available()).extracting(TrainerFactory::name).contains("fixture");
    }

    @Test
    void find_factoryClass_instantiatesIt() throws Exception {
        assertThat(Trainers.find(FixtureFactory.class.getName(), null)).isInstanceOf(FixtureFactory.class);
    }

    @Test
    void find_trainerClassWithOptionsConstructor_wrapsItAsAFactory() throws Exception {
        TrainerFactory f = Trainers.find(OptionsTrainer.class.getName(), null);
        assertThat(f.name()).isEqualTo(OptionsTrainer.class.getName());
        try (Trainer t = f.create(TrainerOptions.of(Map.of("scale", "2.5")))) {
            assertThat(((OptionsTrainer) t).scale).isEqualTo(2.5);
        }
        assertThatThrownBy(() -> f.create(TrainerOptions.of(Map.of("scale", "lots")))).isInstanceOf(TrainerException.class)
                .hasMessage("trainer option 'scale' must be a number, got 'lots'");
    }

    @Test
    void find_trainerClassWithNoArgConstructor_wrapsIt() throws Exception {
        try (Trainer t = Trainers.find(PlainTrainer.class.getName(), null).create(TrainerOptions.of(Map.of()))) {
            assertThat(t).isInstanceOf(PlainTrainer.class);
        }
    }

    @Test
    void find_unknownName_listsTheKnownTrainers() {
        assertThatThrownBy(() -> Trainers.find("nosuch", null)).isInstanceOf(TrainerException.class)
                .hasMessageContaining("no trainer named 'nosuch' on the class path")
                .hasMessageContaining("fixture (a test fixture)");
    }

    @Test
    void find_unknownClass_saysSoAndListsTheKnownTrainers() {
        assertThatThrownBy(() -> Trainers.find("com.example.Missing", null))
                .hasMessageContaining("no trainer named 'com.example.Missing' and no such class on the class path")
                .hasMessageContaining("fixture");
    }

    @Test
    void find_classOfAnotherKind_isRefused() {
        assertThatThrownBy(() -> Trainers.find(String.class.getName(), null))
                .hasMessage("java.lang.String implements neither io.pqfl.trainer.TrainerFactory nor io.pqfl.trainer.Trainer");
        assertThatThrownBy(() -> Trainers.find(Unbuildable.class.getName(), null))
                .hasMessageContaining("needs a public constructor taking TrainerOptions, or one taking no arguments");
    }

    @Test
    void find_nothingNamed_isRefused() {
        assertThatThrownBy(() -> Trainers.find(null, null)).hasMessageContaining("--trainer");
    }

    @Test
    void find_inJar_byRegistrationNameAndClass(@TempDir Path dir) throws Exception {
        Path jar = jar(dir, true);
        TrainerFactory only = Trainers.find(null, jar);
        assertThat(only.name()).isEqualTo("from-jar");
        try (Trainer t = only.create(TrainerOptions.of(Map.of()))) {
            assertThat(t.getClass().getName()).isEqualTo("com.example.jar.JarTrainer");
            assertThat(t.getClass().getClassLoader()).isNotSameAs(getClass().getClassLoader());
        }
        assertThat(Trainers.find("from-jar", jar).name()).isEqualTo("from-jar");
        // A trainer class in the jar, wrapped; it trains through the API.
        try (Trainer t = Trainers.find("com.example.jar.JarTrainer", jar).create(TrainerOptions.of(Map.of("step", "0.5")))) {
            ModelWeights global = ModelWeights.of(MANIFEST, new float[][] {{1, 2, 3}});
            FitResult r = t.fit(global, TrainContext.of(1, io.pqfl.protocol.TrainingConfig.defaults(), 7));
            assertThat(r.weights().tensor(0)).containsExactly(1.5f, 2.5f, 3.5f);
            assertThat(r.examples()).isEqualTo(3);
            assertThat(global.tensor(0)).containsExactly(1, 2, 3);
        }
        // The class path's factories are still found through the jar's loader, and create with the jar as the context
        // loader (so what they load by name may come from the jar).
        ClassLoader before = Thread.currentThread().getContextClassLoader();
        TrainerFactory fixture = Trainers.find("fixture", jar);
        assertThat(fixture.description()).isEqualTo("a test fixture");
        try (Trainer t = fixture.create(TrainerOptions.of(Map.of()))) {
            assertThat(t).isInstanceOf(OptionsTrainer.class);
            assertThat(((OptionsTrainer) t).contextLoader.loadClass("com.example.jar.JarTrainer")).isNotNull();
        }
        assertThat(Thread.currentThread().getContextClassLoader()).isSameAs(before);
    }

    @Test
    void find_jarWithoutRegistration_needsAName(@TempDir Path dir) throws Exception {
        Path jar = jar(dir, false);
        assertThatThrownBy(() -> Trainers.find(null, jar)).hasMessageContaining("registers no trainer factory")
                .hasMessageContaining("META-INF/services/io.pqfl.trainer.TrainerFactory");
        assertThat(Trainers.find("com.example.jar.JarFactory", jar).name()).isEqualTo("from-jar");
        assertThatThrownBy(() -> Trainers.find("com.example.jar.Nope", jar))
                .hasMessageContaining("no such class in " + jar + " or on the class path");
    }

    @Test
    void find_badJar_isRefused(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> Trainers.find(null, dir.resolve("missing.jar"))).hasMessageContaining("does not exist");
        Path notJar = Files.writeString(dir.resolve("bad.jar"), "not a zip");
        assertThatThrownBy(() -> Trainers.find(null, notJar)).hasMessageContaining("is not a readable jar");
    }

    /** Compiles a factory and a trainer in package com.example.jar and packs them into a jar. */
    private static Path jar(Path dir, boolean register) throws IOException, URISyntaxException {
        Path src = Files.createDirectories(dir.resolve("src/com/example/jar"));
        Files.writeString(src.resolve("JarTrainer.java"), """
                package com.example.jar;
                import io.pqfl.protocol.*;
                import io.pqfl.trainer.*;
                import java.util.List;
                import java.util.Map;
                public final class JarTrainer implements Trainer {
                    private final float step;
                    public JarTrainer(TrainerOptions options) throws TrainerException {
                        step = (float) options.getDouble("step", 1);
                    }
                    public ModelManifest manifest() { return new ModelManifest("fixture", List.of(TensorSpec.of("w", 3))); }
                    public FitResult fit(ModelWeights global, TrainContext context) {
                        ModelWeights w = global.copy();
                        for (int i = 0; i < 3; i++) { w.tensor(0)[i] += step; }
                        return new FitResult(w, 3, Map.of("loss", 1.0));
                    }
                    public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                        return new EvaluateResult(0.5, 3, Map.of("accuracy", 1.0));
                    }
                }
                """);
        Files.writeString(src.resolve("JarFactory.java"), """
                package com.example.jar;
                import io.pqfl.trainer.*;
                public final class JarFactory implements TrainerFactory {
                    public String name() { return "from-jar"; }
                    public String description() { return "a trainer in a jar"; }
                    public Trainer create(TrainerOptions options) throws TrainerException { return new JarTrainer(options); }
                }
                """);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        String classPath = Stream.of(Trainer.class, ModelManifest.class, PayloadDigest.class)
                .map(TrainersTest::location).distinct().reduce((a, b) -> a + java.io.File.pathSeparator + b).orElseThrow();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", classes.toString(), "-cp", classPath,
                src.resolve("JarTrainer.java").toString(), src.resolve("JarFactory.java").toString());
        assertThat(rc).as("javac exit status").isZero();
        Path jar = dir.resolve(register ? "trainer.jar" : "unregistered.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            try (Stream<Path> files = Files.walk(classes)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                    Files.copy(f, out);
                    out.closeEntry();
                }
            }
            if (register) {
                out.putNextEntry(new JarEntry("META-INF/services/" + TrainerFactory.class.getName()));
                write(out, "com.example.jar.JarFactory\n");
                out.closeEntry();
            }
        }
        return jar;
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
