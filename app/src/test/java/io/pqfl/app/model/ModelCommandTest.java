package io.pqfl.app.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pqfl.app.Cli;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.RecordedRun;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.coordinator.store.SafeTensors;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.TensorSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code pqfl model init|export|verify}: a built-in or PyTorch model to an initial model file; a real run's signed
 * global model ({@link RecordedRun}) exported and verified; and each way an export can be tampered with refused.
 */
class ModelCommandTest {
    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static RecordedRun recorded;
    private static Path coordinatorPub;
    private static Path otherPub;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void runAFederation() throws Exception {
        recorded = RecordedRun.twoRoundsWithRejections(run);
        coordinatorPub = run.resolve("coordinator.pub");
        KeyPem.writeVerifyingKey(recorded.coordinatorKey(), coordinatorPub);
        otherPub = run.resolve("other.pub");
        KeyPem.writeVerifyingKey(TestKeys.otherKey(SignatureScheme.ML_DSA_65).verifyingKey(), otherPub);
    }

    private int cli(String... args) {
        CommandLine cmd = Cli.commandLine(new ModelCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void init_builtin_writesTheCatalogueModel_andSummarisesIt() throws Exception {
        Path file = dir.resolve("mlp.safetensors");
        assertThat(cli("init", "--builtin", "mlp", "--seed", "3", "--out", file.toString())).as(err.toString()).isEqualTo(Cli.OK);
        ModelWeights expected = ModelCatalog.MLP.initialWeights(3);
        assertThat(SafeTensors.read(file).weights().digest()).isEqualTo(expected.digest());
        assertThat(out.toString()).contains("architecture mlp: 4 tensors, 101770 parameters, 407080 bytes (float32)")
                .contains("fc1.weight").contains("[128, 784]").contains("model digest " + expected.digest().hex());

        assertThat(cli("init", "--builtin", "mlp", "--out", file.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(file + " already exists; refusing to overwrite it (give --force)");
        assertThat(cli("init", "--builtin", "resnet", "--out", dir.resolve("r.safetensors").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown model 'resnet'");
    }

    @Test
    void init_fromPyTorchSafetensors_keepsItsTensorOrder_andTakesTheLabel() throws Exception {
        // As safetensors.torch.save_file writes a state_dict with no pqfl metadata (see SafeTensorsTest for the layout).
        Path torch = dir.resolve("net.safetensors");
        Files.write(torch, safetensors("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", 6));
        Path initial = dir.resolve("initial.safetensors");
        assertThat(cli("init", "--from-safetensors", torch.toString(), "--architecture", "tiny-net", "--out",
                initial.toString())).as(err.toString()).isEqualTo(Cli.OK);
        assertThat(SafeTensors.read(initial).weights().manifest()).isEqualTo(new ModelManifest("tiny-net",
                List.of(TensorSpec.of("0.bias", 2), TensorSpec.of("0.weight", 2, 2))));
        assertThat(out.toString()).contains("architecture tiny-net: 2 tensors, 6 parameters, 24 bytes (float32)");
    }

    @Test
    void init_fromSafetensorsWithHalfPrecision_refusedNamingTheTensor() throws Exception {
        Path torch = dir.resolve("half.safetensors");
        Files.write(torch, safetensors("{\"fc.weight\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 1));
        assertThat(cli("init", "--from-safetensors", torch.toString(), "--out", dir.resolve("o.safetensors").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("error: " + torch + ": 1 tensor is not float32")
                .contains("tensor fc.weight has dtype BF16 (convert the model with model.float() before saving)");
        assertThat(dir.resolve("o.safetensors")).doesNotExist();
    }

    @Test
    void init_torchScript_writesTheModulesOwnParameters_andNeedsTheInputShape() throws Exception {
        Path pt = Path.of("..", "examples", "torchscript-cnn", "model", "fmnist_cnn.pt");
        Path out = dir.resolve("cnn.safetensors");
        assertThat(cli("init", "--torchscript", pt.toString(), "--out", out.toString())).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--torchscript needs --input-shape");
        assertThat(out).doesNotExist();
        assertThat(cli("init", "--torchscript", pt.toString(), "--input-shape", "1,28,28", "--out", out.toString()))
                .isEqualTo(Cli.OK);
        ModelWeights written = io.pqfl.coordinator.store.ModelFileFormat.readWeights(out);
        assertThat(written.manifest().tensors()).extracting(TensorSpec::name)
                .containsExactly("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias");
        try (var ts = io.pqfl.client.train.TorchScriptModel.load(pt, new int[] {1, 28, 28}, ai.djl.Device.cpu())) {
            for (int i = 0; i < written.tensorCount(); i++) {
                assertThat(java.util.Arrays.equals(written.tensor(i), ts.initialWeights().tensor(i))).isTrue();
            }
        }
        assertThat(cli("init", "--torchscript", dir.resolve("missing.pt").toString(), "--input-shape", "1,28,28",
                "--out", dir.resolve("o.safetensors").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("missing.pt");
    }

    @Test
    void exportThenVerify_latestAndByRound_ok() throws Exception {
        Path model = dir.resolve("global.safetensors");
        assertThat(cli("export", "--data-dir", recorded.data().toString(), "--out", model.toString()))
                .as(err.toString()).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("the round 2 global model of federation " + ProtocolFixtures.FEDERATION);
        ModelFiles.Stored round2 = ModelFiles.read(DataDirectory.of(recorded.data()).checkpoint(2));
        assertThat(SafeTensors.read(model).weights().digest()).isEqualTo(round2.weights().digest());
        assertThat(SafeTensors.read(model).metadata()).containsEntry("pqfl.round", "2");

        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString(), "--federation",
                ProtocolFixtures.FEDERATION)).as(err.toString()).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("OK: " + model + " is the round 2 global model of federation "
                + ProtocolFixtures.FEDERATION).contains("with 2 aggregated updates in its receipt");

        Path initial = dir.resolve("round0.safetensors");
        assertThat(cli("export", "--data-dir", recorded.data().toString(), "--round", "0", "--out", initial.toString()))
                .isEqualTo(Cli.OK);
        Path moved = dir.resolve("elsewhere.json");
        Files.move(Path.of(initial + ".statement.json"), moved);
        assertThat(cli("verify", initial.toString(), "--statement", moved.toString(), "--coordinator-key",
                coordinatorPub.toString())).as(err.toString()).isEqualTo(Cli.OK);
        assertThat(out.toString()).contains("is the round 0 global model");
    }

    @Test
    void verify_oneFlippedByteOfTensorData_refusedAsTamperedData() throws Exception {
        Path model = export("global.safetensors");
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length - 1] ^= 0x01; // the last tensor's last value
        Files.write(model, bytes);
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED: the digest of " + model)
                .contains("is not the signed model digest").contains("the tensor data was tampered with or modified");
    }

    @Test
    void verify_anotherModelUnderTheStatement_refusedAsDifferentTensors() throws Exception {
        Path model = export("global.safetensors");
        SafeTensors.write(model, ModelWeights.zeros(new ModelManifest("tiny",
                List.of(TensorSpec.of("w", 3, 2), TensorSpec.of("b", 3)))), Map.of());
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("different tensors than the exported model (tensor 0: expected w[2, 3] float32, "
                + "got w[3, 2] float32)");
    }

    @Test
    void verify_editedStatement_refused() throws Exception {
        Path model = export("global.safetensors");
        Path statement = Path.of(model + ".statement.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode original = (ObjectNode) json.readTree(statement.toFile());

        // The readable round changed: refused, the signed statement says otherwise.
        ObjectNode readable = original.deepCopy();
        readable.put("round", 1);
        json.writeValue(statement.toFile(), readable);
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("field 'round' was edited: it says 1, the signed statement says 2");

        // The signed bytes changed consistently with the readable fields (round 2 -> 1): the signature fails.
        ModelStatement s = ModelStatement.decode(Base64.getDecoder().decode(original.get("statement").asText()));
        ModelStatement forged = new ModelStatement(s.federationId(), 1, s.modelDigest(), s.parentModelDigest(), s.ledgerHead(),
                s.strategyStateDigest(), s.receipt(), s.scheme(), s.coordinatorKeyId());
        ObjectNode resigned = original.deepCopy();
        resigned.put("round", 1);
        resigned.put("statement", Base64.getEncoder().encodeToString(forged.encode()));
        json.writeValue(statement.toFile(), resigned);
        err.getBuffer().setLength(0);
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED: the coordinator's signature over the statement in " + statement
                + " does not verify with " + coordinatorPub);
    }

    @Test
    void verify_statementWhoseReadableJsonSaysAnotherRound_throughADuplicateOrAnExtraField_refused() throws Exception {
        Path model = export("global.safetensors");
        Path statement = Path.of(model + ".statement.json");
        String original = Files.readString(statement);
        assertThat(original).contains("\"round\" : 2,");

        // A duplicate key: a person (and a first-wins parser) reads round 1; a last-wins parser sees the signed 2.
        Files.writeString(statement, original.replaceFirst("\\{", "{ \"round\" : 1,"));
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("Duplicate field 'round'");

        // A readable field the format does not have, claiming something the signature does not say.
        err.getBuffer().setLength(0);
        Files.writeString(statement, original.replaceFirst("\\{", "{ \"model_round\" : 1,"));
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("unknown field 'model_round'");
    }

    @Test
    void verify_withAnotherKey_refusedNamingBothKeys() throws Exception {
        Path model = export("global.safetensors");
        assertThat(cli("verify", model.toString(), "--coordinator-key", otherPub.toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("FAILED: the statement is signed by coordinator key "
                + recorded.coordinatorKey().keyId().hex()).contains("not by the key in " + otherPub);
        assertThat(cli("verify", model.toString(), "--coordinator-key", coordinatorPub.toString(), "--federation", "other"))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("the statement is for federation " + ProtocolFixtures.FEDERATION + ", not other");
    }

    @Test
    void export_withoutCheckpoints_orAStrategyStateFile_refused() throws Exception {
        assertThat(cli("export", "--data-dir", dir.toString(), "--out", dir.resolve("o.safetensors").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(dir + ": no checkpoints here");
        assertThat(cli("export", "--data-dir", recorded.data().toString(), "--round", "7", "--out",
                dir.resolve("o.safetensors").toString())).isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains("no checkpoint of round 7");
        Path unsigned = dir.resolve("state.pqfl");
        ModelFiles.write(unsigned, ProtocolFixtures.tiny(0), null);
        assertThat(cli("export", "--checkpoint", unsigned.toString(), "--out", dir.resolve("o.safetensors").toString()))
                .isEqualTo(Cli.FAILED);
        assertThat(err.toString()).contains(unsigned + ": holds no signed model statement");
    }

    private Path export(String name) {
        Path model = dir.resolve(name);
        assertThat(cli("export", "--data-dir", recorded.data().toString(), "--out", model.toString())).as(err.toString())
                .isEqualTo(Cli.OK);
        return model;
    }

    /** A safetensors file with this header and {@code floats} zero-valued float32s of data. */
    private static byte[] safetensors(String header, int floats) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + 4 * floats).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        return b.array();
    }
}
