package io.pqfl.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
    @Test
    void threadsAreGroupedByWhatTheirNamesSayTheyDo() {
        assertThat(ThreadCpu.kind("C2 CompilerThre")).isEqualTo("JIT compiler");
        assertThat(ThreadCpu.kind("grpc-nio-worker-ELG-1-2")).isEqualTo("gRPC transport (TLS, HTTP/2)");
        assertThat(ThreadCpu.kind("pqfl-grpc-3")).isEqualTo("coordinator calls");
        assertThat(ThreadCpu.kind("pqfl-round-close")).isEqualTo("coordinator rounds");
        assertThat(ThreadCpu.kind("fleet-handler-17")).isEqualTo("client tasks");
        assertThat(ThreadCpu.kind("main")).isEqualTo("other");
    }

    @Test
    void theCpuTimeOfABusyThreadIsCountedUnderItsKind() throws Exception {
        ThreadCpu before = ThreadCpu.now();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread busy = new Thread(() -> {
            long x = 0;
            while (!stop.get()) {
                x += Long.numberOfTrailingZeros(x + System.nanoTime());
            }
            if (x == 42) {
                System.out.print("");
            }
        }, "fleet-join-test");
        busy.start();
        // Read while the thread still exists: a thread that ended takes its time with it.
        Thread.sleep(400);
        ThreadCpu after = ThreadCpu.now();
        stop.set(true);
        busy.join();

        Matcher m = Pattern.compile("client Hellos ([0-9.]+) s").matcher(after.since(before));
        assertThat(m.find()).as(after.since(before)).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThanOrEqualTo(0.2);
    }
}
