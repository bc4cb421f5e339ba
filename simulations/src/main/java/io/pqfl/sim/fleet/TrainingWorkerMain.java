package io.pqfl.sim.fleet;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;

/**
 * A training worker process: reads a {@link WorkerSetup} and then {@link Job}s from stdin, answers each on stdout,
 * and exits when stdin closes (the simulation ended or died). Anything else a library prints goes to stderr, which
 * the simulation keeps for the report of a worker that failed.
 */
public final class TrainingWorkerMain {
    private TrainingWorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        // The pipe is stdout: nothing else may write to it.
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16));
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        WorkerSetup setup = WorkerWire.readSetup(in);
        JobRunner runner = new JobRunner(setup);
        while (true) {
            Job job;
            try {
                job = WorkerWire.readJob(in, setup.manifest());
            } catch (EOFException e) {
                return;
            }
            JobResult result;
            try {
                result = runner.run(job);
            } catch (Exception | LinkageError e) {
                WorkerWire.writeFailure(out, e.toString());
                continue;
            }
            WorkerWire.writeResult(out, result);
        }
    }
}
