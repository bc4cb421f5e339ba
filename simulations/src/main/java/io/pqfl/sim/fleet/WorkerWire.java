package io.pqfl.sim.fleet;

import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TrainingConfig;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pipe between the simulation and a worker process: length-prefixed big-endian values over the worker's stdin
 * and stdout. One {@link WorkerSetup}, then jobs and their answers in turn. Both ends are this code, on one
 * machine, in one run; the worker still checks every size against its model's manifest.
 */
final class WorkerWire {
    static final int MAGIC = 0x7071_666C; // "pqfl"
    static final byte OK = 1;
    static final byte FAILED = 2;
    /** Bounds a length read from the pipe (a corrupted stream fails instead of allocating gigabytes). */
    private static final int MAX_ARRAY = 1 << 28;

    private WorkerWire() {
    }

    static void writeSetup(DataOutputStream out, WorkerSetup setup) throws IOException {
        out.writeInt(MAGIC);
        out.writeUTF(setup.model());
        writeMap(out, setup.options());
        out.writeUTF(setup.task());
        out.writeLong(setup.seed());
        byte[] manifest = io.pqfl.protocol.WireMapping.toWire(setup.manifest()).toByteArray();
        out.writeInt(manifest.length);
        out.write(manifest);
        out.writeUTF(setup.device());
        out.flush();
    }

    static WorkerSetup readSetup(DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a pqfl worker stream");
        }
        String model = in.readUTF();
        Map<String, String> options = new LinkedHashMap<>();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            options.put(in.readUTF(), in.readUTF());
        }
        String task = in.readUTF();
        long seed = in.readLong();
        byte[] manifest = new byte[length(in)];
        in.readFully(manifest);
        return new WorkerSetup(model, options, task, seed, io.pqfl.protocol.WireMapping.fromWire(
                io.pqfl.proto.v1.ModelManifest.parseFrom(manifest)), in.readUTF());
    }

    static void writeJob(DataOutputStream out, Job job) throws IOException {
        out.writeByte(job.kind().ordinal());
        out.writeInt(job.client());
        out.writeLong(job.round());
        out.writeLong(job.seed());
        TrainingConfig c = job.config();
        out.writeInt(c.localEpochs());
        out.writeInt(c.batchSize());
        out.writeFloat(c.learningRate());
        out.writeFloat(c.proximalMu());
        out.writeUTF(c.optimizer());
        writeWeights(out, job.global());
        writeExamples(out, job.train());
        writeExamples(out, job.eval());
        out.flush();
    }

    static Job readJob(DataInputStream in, ModelManifest manifest) throws IOException {
        Job.Kind kind = Job.Kind.values()[in.readByte()];
        int client = in.readInt();
        long round = in.readLong();
        long seed = in.readLong();
        TrainingConfig config = new TrainingConfig(in.readInt(), in.readInt(), in.readFloat(), in.readFloat(), in.readUTF());
        ModelWeights global = readWeights(in, manifest);
        return new Job(kind, client, round, seed, config, global, readExamples(in), readExamples(in));
    }

    static void writeResult(DataOutputStream out, JobResult r) throws IOException {
        out.writeByte(OK);
        out.writeBoolean(r.weights() != null);
        if (r.weights() != null) {
            writeWeights(out, r.weights());
        }
        out.writeLong(r.examples());
        out.writeDouble(r.loss());
        out.writeInt(r.metrics().size());
        for (var e : r.metrics().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeDouble(e.getValue());
        }
        out.writeLong(r.computeMillis());
        out.writeLong(r.cpuMillis());
        out.flush();
    }

    static void writeFailure(DataOutputStream out, String message) throws IOException {
        out.writeByte(FAILED);
        out.writeUTF(message.length() > 2000 ? message.substring(0, 2000) : message);
        out.flush();
    }

    /** The worker's answer: a result, or a {@link WorkerException} with the worker's reason. */
    static JobResult readResult(DataInputStream in, ModelManifest manifest) throws IOException, WorkerException {
        byte status = in.readByte();
        if (status == FAILED) {
            throw new WorkerException(in.readUTF());
        }
        if (status != OK) {
            throw new IOException("unexpected answer " + status + " from the worker");
        }
        ModelWeights weights = in.readBoolean() ? readWeights(in, manifest) : null;
        long examples = in.readLong();
        double loss = in.readDouble();
        Map<String, Double> metrics = new LinkedHashMap<>();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            metrics.put(in.readUTF(), in.readDouble());
        }
        return new JobResult(weights, examples, loss, metrics, in.readLong(), in.readLong());
    }

    private static void writeMap(DataOutputStream out, Map<String, String> map) throws IOException {
        out.writeInt(map.size());
        for (var e : map.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    private static void writeWeights(DataOutputStream out, ModelWeights w) throws IOException {
        out.writeInt(w.tensorCount());
        for (int t = 0; t < w.tensorCount(); t++) {
            writeFloats(out, w.tensor(t));
        }
    }

    private static ModelWeights readWeights(DataInputStream in, ModelManifest manifest) throws IOException {
        int n = in.readInt();
        if (n != manifest.tensors().size()) {
            throw new IOException(n + " tensors on the pipe, the model has " + manifest.tensors().size());
        }
        float[][] values = new float[n][];
        for (int t = 0; t < n; t++) {
            values[t] = readFloats(in);
        }
        return ModelWeights.of(manifest, values);
    }

    private static void writeExamples(DataOutputStream out, Examples e) throws IOException {
        writeFloats(out, e.features());
        writeInts(out, e.labels());
        out.writeBoolean(e.targets() != null);
        if (e.targets() != null) {
            writeFloats(out, e.targets());
        }
        writeInts(out, e.shape());
        out.writeInt(e.classes());
    }

    private static Examples readExamples(DataInputStream in) throws IOException {
        float[] features = readFloats(in);
        int[] labels = readInts(in);
        float[] targets = in.readBoolean() ? readFloats(in) : null;
        return new Examples(features, labels, targets, readInts(in), in.readInt());
    }

    private static void writeFloats(DataOutputStream out, float[] v) throws IOException {
        out.writeInt(v.length);
        byte[] b = new byte[v.length * 4];
        java.nio.ByteBuffer.wrap(b).asFloatBuffer().put(v);
        out.write(b);
    }

    private static float[] readFloats(DataInputStream in) throws IOException {
        int n = length(in);
        byte[] b = new byte[n * 4];
        in.readFully(b);
        float[] v = new float[n];
        java.nio.ByteBuffer.wrap(b).asFloatBuffer().get(v);
        return v;
    }

    private static void writeInts(DataOutputStream out, int[] v) throws IOException {
        out.writeInt(v.length);
        byte[] b = new byte[v.length * 4];
        java.nio.ByteBuffer.wrap(b).asIntBuffer().put(v);
        out.write(b);
    }

    private static int[] readInts(DataInputStream in) throws IOException {
        int n = length(in);
        byte[] b = new byte[n * 4];
        in.readFully(b);
        int[] v = new int[n];
        java.nio.ByteBuffer.wrap(b).asIntBuffer().get(v);
        return v;
    }

    private static int length(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_ARRAY) {
            throw new IOException("array length " + n + " on the worker pipe");
        }
        return n;
    }
}
