package io.pqfl.sim.fleet;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A worker process: a JVM on the simulation's class path running {@link TrainingWorkerMain}, with one libtorch
 * thread, fed jobs over a pipe. Its stderr goes to {@code log}; when it dies, the job in hand fails with its exit
 * code and the last lines of that log.
 */
final class ProcessWorker implements Worker {
    private final int index;
    private final Process process;
    private final DataOutputStream toWorker;
    private final DataInputStream fromWorker;
    private final Path log;
    private final WorkerSetup setup;
    private volatile boolean alive = true;
    private long peakRss = -1;
    private boolean setupSent;

    ProcessWorker(int index, WorkerSetup setup, Path log) throws IOException {
        this.index = index;
        this.setup = setup;
        this.log = log;
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // The parent's system properties and module options, not its agents, debugger or heap size.
            if ((arg.startsWith("-D") && !arg.startsWith("-Dai.djl.pytorch.num_threads")) || arg.startsWith("--enable-native-access")
                    || arg.startsWith("--add-opens") || arg.startsWith("--add-exports")) {
                command.add(arg);
            }
        }
        command.add("-Xmx512m");
        command.add("-XX:+UseSerialGC");
        command.add("-Dai.djl.pytorch.num_threads=1");
        command.add("-Dai.djl.pytorch.num_interop_threads=1");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(TrainingWorkerMain.class.getName());
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(log.toFile());
        builder.environment().putIfAbsent("OMP_NUM_THREADS", "1");
        // A worker builds and drops a model per job: memory freed by one job is given back to the system, unlike the
        // launcher's never-trim settings for one long-lived model (which let a worker's resident memory pile up).
        builder.environment().put("MALLOC_MMAP_THRESHOLD_", "33554432");
        builder.environment().put("MALLOC_TRIM_THRESHOLD_", "134217728");
        builder.environment().put("MALLOC_TOP_PAD_", "16777216");
        this.process = builder.start();
        this.toWorker = new DataOutputStream(new BufferedOutputStream(process.getOutputStream(), 1 << 16));
        this.fromWorker = new DataInputStream(new BufferedInputStream(process.getInputStream(), 1 << 16));
    }

    @Override
    public synchronized JobResult run(Job job) throws WorkerException, InterruptedException {
        if (!alive) {
            throw new WorkerException(describe() + " is no longer running");
        }
        try {
            if (!setupSent) { // sent with the first job, so that a worker that died early fails a job, not the pool
                WorkerWire.writeSetup(toWorker, setup);
                setupSent = true;
            }
            WorkerWire.writeJob(toWorker, job);
            JobResult result = WorkerWire.readResult(fromWorker, setup.manifest());
            samplePeakRss();
            return result;
        } catch (IOException e) {
            alive = false;
            process.waitFor(5, TimeUnit.SECONDS);
            String exit = process.isAlive() ? "stopped answering (" + e.getMessage() + ")"
                    : "exited with code " + process.exitValue();
            process.destroyForcibly();
            throw new WorkerException(describe() + " " + exit + "; last lines of " + log + ": " + tail(log), e);
        }
    }

    /** VmHWM of the worker process (Linux); unchanged elsewhere. */
    private void samplePeakRss() {
        peakRss = Math.max(peakRss, Rss.peakBytes(Long.toString(process.pid())));
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    @Override
    public boolean alive() {
        return alive && process.isAlive();
    }

    @Override
    public synchronized long peakRssBytes() {
        return peakRss;
    }

    @Override
    public String describe() {
        return "worker " + index + " (pid " + process.pid() + ")";
    }

    @Override
    public void close() {
        try {
            toWorker.close(); // the worker exits when its stdin closes
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
