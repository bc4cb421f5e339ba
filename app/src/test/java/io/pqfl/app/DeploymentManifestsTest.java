package io.pqfl.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * The command lines in {@code deploy/} — every container of a pqfl image in the Kubernetes manifests
 * ({@code deploy/k8s}) and every service of the compose file ({@code deploy/compose/compose.yaml}) — are command lines
 * this CLI accepts: the first word is a sub-command of the image's entry point (read from the {@code images} profile
 * in the app's pom, so the coordinator image's DJL-free {@link CoordinatorHost} must have it), and picocli parses the
 * rest: every option exists and every value converts. The properties files read with {@code --config} hold only
 * settings of their command, as {@code pqfl} checks them at start. Kubernetes' {@code $(VAR)} references are filled in
 * from the container's literal environment values, others with a placeholder.
 *
 * <p>The aggregator's manifests were written against {@code pqfl aggregator} on its development branch: while this
 * CLI has no such sub-command they are reported as skipped, and from the day it has they are checked like the others.
 */
class DeploymentManifestsTest {
    private static final Path DEPLOY = Path.of("..", "deploy");
    private static final Path K8S = DEPLOY.resolve("k8s");
    private static final Path COMPOSE = DEPLOY.resolve("compose").resolve("compose.yaml");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
    private static final String PENDING = "aggregator";

    /** A pqfl command line found in a file under deploy/. */
    record Invocation(String source, String image, List<String> args) {
    }

    /** Image name (without registry prefix and tag) to the entry point's command line, from the app's pom. */
    private static Map<String, Supplier<CommandLine>> entryPoints;

    @BeforeAll
    static void readTheImagesEntryPointsFromThePom() throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document pom = factory.newDocumentBuilder().parse(Path.of("pom.xml").toFile());
        entryPoints = new LinkedHashMap<>();
        NodeList executions = pom.getElementsByTagName("execution");
        for (int i = 0; i < executions.getLength(); i++) {
            Element execution = (Element) executions.item(i);
            NodeList entrypoint = execution.getElementsByTagName("entrypoint");
            NodeList to = execution.getElementsByTagName("to");
            if (entrypoint.getLength() == 0 || to.getLength() == 0) {
                continue;
            }
            String image = ((Element) to.item(0)).getElementsByTagName("image").item(0).getTextContent().trim();
            String name = image.replaceAll("^\\$\\{[^}]*}", "").replaceAll(":.*$", "");
            String command = entrypoint.item(0).getTextContent().trim();
            if (command.endsWith("io.pqfl.app.CoordinatorHost")) {
                entryPoints.put(name, CoordinatorHost::commandLine);
            } else if (command.endsWith("-jar,/opt/pqfl/pqfl.jar")) {
                entryPoints.put(name, Pqfl::commandLine);
            } else {
                fail("image %s: an entry point this test does not know: %s", name, command);
            }
        }
        assertThat(entryPoints).as("the images profile in app/pom.xml")
                .containsOnlyKeys("pqfl-coordinator", "pqfl-client", "pqfl-aggregator");
    }

    @TestFactory
    Stream<DynamicTest> everyPqflCommandInDeploy_parses() throws IOException {
        List<Invocation> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(K8S)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") && !inNodeModules(p)).sorted().toList()) {
                if (!f.getFileName().toString().equals("kustomization.yaml")) {
                    for (Object doc : loadAll(f)) {
                        collectContainers(K8S.relativize(f).toString(), doc, found);
                    }
                }
            }
        }
        collectComposeServices(found);
        assertThat(found.stream().filter(i -> i.source().startsWith("compose")).count())
                .as("the compose file's coordinator, init and three clients").isEqualTo(5);
        assertThat(found.stream().map(Invocation::image).distinct())
                .as("manifests for each image").containsExactlyInAnyOrder("pqfl-coordinator", "pqfl-client", "pqfl-aggregator");
        return found.stream().map(i -> DynamicTest.dynamicTest(i.source() + ": " + String.join(" ", i.args()),
                () -> assertParses(i)));
    }

    @TestFactory
    Stream<DynamicTest> everyConfigFile_holdsOnlyItsCommandsSettings() throws IOException {
        List<Path> properties;
        try (Stream<Path> files = Files.walk(K8S)) {
            properties = files.filter(p -> p.toString().endsWith(".properties") && !inNodeModules(p)).sorted().toList();
        }
        assertThat(properties).isNotEmpty();
        return properties.stream().map(f -> DynamicTest.dynamicTest(K8S.relativize(f).toString(), () -> {
            String name = f.getFileName().toString();
            String command = name.substring(0, name.length() - ".properties".length());
            String image = "pqfl-" + command;
            assertThat(entryPoints).as("a config file is named after its command's image").containsKey(image);
            assertParses(new Invocation(K8S.relativize(f).toString(), image,
                    List.of(command, "--config=" + f)));
        }));
    }

    @Test
    void aTypoInAnOption_isCaught() {
        var typo = new Invocation("test", "pqfl-client", List.of("client", "--coordinator=c:1", "--client-id=a",
                "--key=k", "--coordinator-key=p", "--plaintext", "--partiton=0/3"));
        assertThatCode(() -> assertParses(typo)).isInstanceOf(CommandLine.UnmatchedArgumentException.class)
                .hasMessageContaining("--partiton");
        var client = new Invocation("test", "pqfl-coordinator", List.of("client", "--help"));
        assertThatCode(() -> assertParses(client)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("pqfl-coordinator");
    }

    private static void assertParses(Invocation i) {
        CommandLine root = entryPoints.get(i.image()).get();
        String[] args = i.args().toArray(String[]::new);
        String command = args[0];
        if (!root.getSubcommands().containsKey(command)) {
            if (command.equals(PENDING)) {
                Assumptions.abort("`pqfl " + PENDING + "` is not a command yet; " + i.source() + " is checked once it is");
            }
            fail("%s: image %s runs %s, which has no sub-command '%s'", i.source(), i.image(),
                    root.getCommandSpec().userObject().getClass().getSimpleName(), command);
        }
        for (int a = 0; a < args.length; a++) {
            if (args[a].startsWith("--config=") && !Files.exists(Path.of(args[a].substring("--config=".length())))) {
                args[a] = "--config=" + localConfigFile(i.source(), args[a].substring("--config=".length()));
            }
        }
        ConfigFileDefaults.install(root, args);
        root.parseArgs(args);
    }

    /**
     * A container's {@code --config} file, mounted from a ConfigMap, is the file of that name in deploy/k8s the
     * ConfigMap is generated from (an overlay's variant of it is checked by its own test above).
     */
    private static String localConfigFile(String source, String mounted) {
        String name = Path.of(mounted).getFileName().toString();
        try (Stream<Path> files = Files.walk(K8S)) {
            return files.filter(p -> p.getFileName().toString().equals(name) && !inNodeModules(p)).sorted().findFirst()
                    .orElseThrow(() -> new AssertionError(source + ": no " + name + " in deploy/k8s for --config=" + mounted))
                    .toString();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<Object> loadAll(Path f) throws IOException {
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            List<Object> docs = new ArrayList<>();
            new Yaml(new LoaderOptions()).loadAll(r).forEach(docs::add);
            return docs;
        }
    }

    /** Every container (and init container) of a pqfl image with args, wherever it sits in the object. */
    @SuppressWarnings("unchecked")
    private static void collectContainers(String source, Object node, List<Invocation> found) {
        if (node instanceof Map<?, ?> map) {
            for (String key : List.of("containers", "initContainers")) {
                if (map.get(key) instanceof List<?> containers) {
                    for (Object c : containers) {
                        Map<String, Object> container = (Map<String, Object>) c;
                        String image = imageName(container.get("image"));
                        if (image != null && container.get("args") instanceof List<?> args) {
                            Map<String, String> env = new LinkedHashMap<>();
                            if (container.get("env") instanceof List<?> vars) {
                                for (Object v : vars) {
                                    Map<String, Object> var = (Map<String, Object>) v;
                                    env.put((String) var.get("name"), var.get("value") == null ? "0" : var.get("value").toString());
                                }
                            }
                            List<String> expanded = args.stream().map(a -> expand(a.toString(), env, source)).toList();
                            found.add(new Invocation(source + " (" + container.get("name") + ")", image, expanded));
                        }
                    }
                }
            }
            map.values().forEach(v -> collectContainers(source, v, found));
        } else if (node instanceof List<?> list) {
            list.forEach(v -> collectContainers(source, v, found));
        }
    }

    @SuppressWarnings("unchecked")
    private static void collectComposeServices(List<Invocation> found) throws IOException {
        Map<String, Object> compose;
        try (InputStream in = Files.newInputStream(COMPOSE)) {
            compose = new Yaml(new LoaderOptions()).load(in);
        }
        Map<String, Object> services = (Map<String, Object>) compose.get("services");
        services.forEach((name, s) -> {
            Map<String, Object> service = (Map<String, Object>) s;
            String image = imageName(service.get("image"));
            if (image != null) {
                assertThat(service.get("command")).as("compose service %s: command as a list", name).isInstanceOf(List.class);
                List<String> args = ((List<Object>) service.get("command")).stream().map(Object::toString).toList();
                found.add(new Invocation("compose/compose.yaml (" + name + ")", image, args));
            }
        });
    }

    /** deploy/k8s/validate's npm packages, where someone installed them. */
    private static boolean inNodeModules(Path p) {
        for (Path part : p) {
            if (part.toString().equals("node_modules")) {
                return true;
            }
        }
        return false;
    }

    /** {@code registry/pqfl-client:tag} to {@code pqfl-client}; null for images that are not pqfl's. */
    private static String imageName(Object image) {
        if (image == null) {
            return null;
        }
        String name = image.toString().replaceAll(":[^/]*$", "").replaceAll("^.*/", "");
        return name.startsWith("pqfl-") ? name : null;
    }

    private static String expand(String arg, Map<String, String> env, String source) {
        Matcher m = VARIABLE.matcher(arg);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = env.get(m.group(1));
            assertThat(value).as("%s: $(%s) in '%s' is not an environment variable of the container", source, m.group(1), arg)
                    .isNotNull();
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }
}
