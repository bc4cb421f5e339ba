package io.pqfl.sim.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Where this JVM's CPU time goes, by kind of thread, from Linux's /proc (every thread, the JIT compiler's and the
 * collector's included, which no Java API reports): what a fleet's wall time is spent on besides training. A thread
 * that ended between two snapshots takes its time with it.
 */
public final class ThreadCpu {
    /** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every architecture the JDK runs on. */
    private static final long TICKS_PER_SECOND = 100;

    /** Thread-name prefixes and the kind of work they stand for, in the order printed. */
    private static final List<Map.Entry<String, String>> KINDS = List.of(
            Map.entry("C1 CompilerThre", "JIT compiler"),
            Map.entry("C2 CompilerThre", "JIT compiler"),
            Map.entry("grpc-nio-worker", "gRPC transport (TLS, HTTP/2)"),
            Map.entry("pqfl-grpc", "coordinator calls"),
            Map.entry("fleet-handler", "client tasks"),
            Map.entry("fleet-join", "client Hellos"),
            Map.entry("grpc-default-ex", "client callbacks"),
            Map.entry("pqfl-round", "coordinator rounds"),
            Map.entry("GC Thread", "garbage collector"),
            Map.entry("G1 ", "garbage collector"));

    private final Map<String, Long> ticks;

    private ThreadCpu(Map<String, Long> ticks) {
        this.ticks = ticks;
    }

    /** CPU time so far by kind of thread; empty where /proc cannot be read (not Linux). */
    public static ThreadCpu now() {
        Map<String, Long> m = new LinkedHashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (IOException gone) {
                    continue;
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                // After the name: state, then 10 fields, then utime and stime (fields 14 and 15 of proc(5)).
                String[] f = stat.substring(close + 2).split(" ");
                m.merge(kind(stat.substring(open + 1, close)), Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
            }
        } catch (IOException | RuntimeException e) {
            return new ThreadCpu(Map.of());
        }
        return new ThreadCpu(m);
    }

    static String kind(String threadName) {
        return KINDS.stream().filter(k -> threadName.startsWith(k.getKey())).map(Map.Entry::getValue).findFirst()
                .orElse("other");
    }

    /**
     * The CPU time since {@code earlier}, by kind, largest first, e.g. {@code "JIT compiler 8.8 s, gRPC transport
     * (TLS, HTTP/2) 5.2 s, ..."}; empty when unknown.
     */
    public String since(ThreadCpu earlier) {
        return ticks.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - earlier.ticks.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .map(e -> String.format(Locale.ROOT, "%s %.1f s", e.getKey(), e.getValue() / (double) TICKS_PER_SECOND))
                .collect(Collectors.joining(", "));
    }
}
