package io.pqfl.sim.load;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code pqfl coordinator} in a child JVM (same classpath), so load and fault tests measure its
 * memory on its own and can kill it like an operating system would. Its log goes to a file. The command line
 * itself is the app module's: the caller names its main class.
 */
public final class CoordinatorProcess implements AutoCloseable {
    private final String mainClass;
    private final List<String> args;
    private final String heap;
    private final Path log;
    private final int metricsPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;

    /**
     * @param mainClass a {@code pqfl} main class on this JVM's classpath, whose {@code main} takes
     *     {@code coordinator OPTIONS...}
     * @param args the {@code pqfl coordinator} options; {@code --metrics-port} is added
     */
    public CoordinatorProcess(String mainClass, List<String> args, String heap, Path log) throws IOException {
        this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        this.args = List.copyOf(args);
        this.heap = heap;
        this.log = log;
        this.metricsPort = freePort();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts the process and waits until its metrics endpoint answers. */
    public CoordinatorProcess start() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.add("coordinator");
        cmd.addAll(args);
        cmd.add("--metrics-port");
        cmd.add(Integer.toString(metricsPort));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            if (!process.isAlive()) {
                throw new IOException("the coordinator exited with " + process.exitValue() + " at start:\n" + tail());
            }
            if (scrape() != null) {
                return this;
            }
            Thread.sleep(100);
        }
        process.destroyForcibly();
        throw new IOException("the coordinator did not come up within 60 s:\n" + tail());
    }

    /** The Prometheus text of the coordinator's metrics, or null when it does not answer. */
    public String scrape() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Sum of the samples of {@code metric} whose labels contain {@code labelFilter} (empty: all). */
    public static double sum(String scrape, String metric, String labelFilter) {
        double total = 0;
        boolean found = false;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(metric) && (line.length() == metric.length() || line.charAt(metric.length()) == '{'
                    || line.charAt(metric.length()) == ' ') && line.contains(labelFilter)) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        return found ? total : Double.NaN;
    }

    /** SIGKILL, as the operating system's OOM killer or a power cut would stop it: no shutdown hook runs. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Waits for the process to end by itself; returns its exit code. */
    public int await(Duration timeout) throws InterruptedException, IOException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IOException("the coordinator did not finish within " + timeout + ":\n" + tail());
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The last lines of the coordinator's log. */
    public String tail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
