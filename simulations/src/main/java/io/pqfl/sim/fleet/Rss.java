package io.pqfl.sim.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Peak resident memory of a process, from Linux's /proc. */
public final class Rss {
    private Rss() {
    }

    /** VmHWM of process {@code pid} ("self" for this JVM), in bytes; -1 where unknown (not Linux, or gone). */
    public static long peakBytes(String pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or the process is gone
        }
        return -1;
    }
}
