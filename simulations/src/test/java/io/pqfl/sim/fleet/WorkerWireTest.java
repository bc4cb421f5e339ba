package io.pqfl.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.client.data.Examples;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import io.pqfl.protocol.TrainingConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerWireTest {
    static final ModelManifest M = new ModelManifest("m", List.of(TensorSpec.of("w", 2, 3), TensorSpec.of("b", 3)));

    @Test
    void setupJobAndResultCrossThePipeUnchanged() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        WorkerSetup setup = new WorkerSetup("", Map.of("model", "dense", "hidden", "8"), "CLASSIFICATION", 7, M, "cpu");
        ModelWeights global = ModelWeights.of(M, new float[][] {{1, 2, 3, 4, 5, Float.MIN_VALUE}, {-1, 0.5f, 9}});
        Examples train = new Examples(new float[] {1, 2, 3, 4}, new int[] {0, 1}, 2, 2);
        Examples eval = Examples.regression(new float[] {5, 6}, new float[] {0.25f}, new int[] {2});
        Job job = new Job(Job.Kind.FIT, 42, 3, 99, new TrainingConfig(2, 16, 0.01f, 0.1f, "sgd"), global, train, eval);
        WorkerWire.writeSetup(out, setup);
        WorkerWire.writeJob(out, job);
        WorkerWire.writeResult(out, new JobResult(global, 2, 0.75, Map.of("accuracy", 0.5), 123, 45));
        WorkerWire.writeFailure(out, "java.lang.IllegalStateException: boom");

        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
        WorkerSetup s = WorkerWire.readSetup(in);
        assertThat(s).isEqualTo(setup);
        Job j = WorkerWire.readJob(in, s.manifest());
        assertThat(j.kind()).isEqualTo(Job.Kind.FIT);
        assertThat(j.client()).isEqualTo(42);
        assertThat(j.round()).isEqualTo(3);
        assertThat(j.seed()).isEqualTo(99);
        assertThat(j.config()).isEqualTo(job.config());
        assertThat(j.global().tensor(0)).containsExactly(global.tensor(0));
        assertThat(j.global().tensor(1)).containsExactly(global.tensor(1));
        assertThat(j.train()).isEqualTo(train);
        assertThat(j.eval()).isEqualTo(eval);
        JobResult r = WorkerWire.readResult(in, M);
        assertThat(r.weights().tensor(1)).containsExactly(global.tensor(1));
        assertThat(r.examples()).isEqualTo(2);
        assertThat(r.loss()).isEqualTo(0.75);
        assertThat(r.metrics()).isEqualTo(Map.of("accuracy", 0.5));
        assertThat(r.computeMillis()).isEqualTo(123);
        assertThat(r.cpuMillis()).isEqualTo(45);
        assertThatThrownBy(() -> WorkerWire.readResult(in, M)).isInstanceOf(WorkerException.class)
                .hasMessage("java.lang.IllegalStateException: boom");
    }

    @Test
    void weightsThatDoNotFitTheManifestAndAbsurdLengthsAreRefused() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(WorkerWire.OK);
        out.writeBoolean(true);
        out.writeInt(1); // one tensor, the manifest has two
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
        assertThatThrownBy(() -> WorkerWire.readResult(in, M)).isInstanceOf(IOException.class)
                .hasMessageContaining("1 tensors on the pipe, the model has 2");

        bytes.reset();
        out.writeByte(WorkerWire.OK);
        out.writeBoolean(true);
        out.writeInt(2);
        out.writeInt(Integer.MAX_VALUE); // a length no pipe should carry
        DataInputStream huge = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
        assertThatThrownBy(() -> WorkerWire.readResult(huge, M)).isInstanceOf(IOException.class)
                .hasMessageContaining("array length");
    }
}
