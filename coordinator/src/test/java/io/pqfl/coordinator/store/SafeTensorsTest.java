package io.pqfl.coordinator.store;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Safetensors files: the exact bytes pqfl writes, files as PyTorch writes them, and hostile files.
 *
 * <p>Neither Python's {@code safetensors} nor {@code torch} is installed on the machines these tests were written
 * on (and PyPI is not reachable from them), so the "written by PyTorch" files below are assembled by hand exactly
 * as the format's specification and the reference implementation lay them out: {@code __metadata__ {"format":
 * "pt"}} first, tensors sorted by name in the JSON, data in the same order, the header padded with spaces to a
 * multiple of 8 bytes. An independent implementation is checked in the app's {@code SafeTensorsDjlInteropTest}
 * (DJL's safetensors codec writes files this reader reads, and reads files this writer writes).
 */
class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void write_tinyModel_isExactlyTheseBytes() throws Exception {
        Path file = dir.resolve("tiny.safetensors");
        SafeTensors.write(file, tiny(0), Map.of());

        String header = "{\"__metadata__\":{\"format\":\"pt\",\"pqfl.architecture\":\"tiny\","
                + "\"pqfl.tensor_order\":\"[\\\"w\\\",\\\"b\\\"]\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}";
        byte[] expected = assemble(header, floats(0, 1, 2, 3, 4, 5, 0, 1, 2));
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
        assertThat((Files.size(file) - 36) % 8).as("the data starts 8-byte aligned").isZero();
    }

    @Test
    void readBack_givesTheExactManifestAndDigest() throws Exception {
        ModelWeights model = randomModel("resnet-ish", new Random(7),
                TensorSpec.of("z.last", 3), TensorSpec.of("a.first", 4, 2, 3, 3), TensorSpec.of("m.middle", 1));
        Path file = dir.resolve("m.safetensors");
        SafeTensors.write(file, model, Map.of("pqfl.source", "test"));

        SafeTensors.Contents read = SafeTensors.read(file);
        assertThat(read.weights().manifest()).isEqualTo(model.manifest());
        assertThat(read.weights().digest()).isEqualTo(model.digest());
        assertThat(read.metadata()).containsEntry("format", "pt").containsEntry("pqfl.source", "test")
                .containsEntry(SafeTensors.ARCHITECTURE_KEY, "resnet-ish");
    }

    @Test
    void read_fileFromPyTorch_takesTheDataOrder_andTheDefaultArchitecture() throws Exception {
        // save_file({"fc.weight": ..., "fc.bias": ...}) sorts the JSON by name; here the data order is bias first.
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}";
        Path file = write("torch.safetensors", assemble(header, floats(0.5f, -1, 1, 2, 3, 4, 5, 6)));

        ModelWeights w = SafeTensors.read(file).weights();
        assertThat(w.manifest()).isEqualTo(new ModelManifest(SafeTensors.DEFAULT_ARCHITECTURE,
                List.of(TensorSpec.of("fc.bias", 2), TensorSpec.of("fc.weight", 2, 3))));
        assertThat(w.tensor(0)).containsExactly(0.5f, -1f);
        assertThat(w.tensor(1)).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void read_dataOrderDiffersFromJsonOrder_followsTheOffsets() throws Exception {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        ModelWeights w = SafeTensors.read(write("o.safetensors", assemble(header, floats(1, 2)))).weights();
        assertThat(w.manifest().tensors()).extracting(TensorSpec::name).containsExactly("b", "a");
        assertThat(w.tensor(0)).containsExactly(1f);
        assertThat(w.tensor(1)).containsExactly(2f);
    }

    @Test
    void read_aTensorOfSeveralMebibytes_readsEveryValue() throws Exception {
        ModelWeights model = randomModel("big", new Random(3), TensorSpec.of("w", 1024, 700), TensorSpec.of("b", 5));
        Path file = dir.resolve("big.safetensors");
        SafeTensors.write(file, model, Map.of());
        ModelWeights read = SafeTensors.read(file).weights();
        // isEqualTo (Arrays.equals), not containsExactly, which is quadratic on 700k values.
        assertThat(read.tensor(0)).isEqualTo(model.tensor(0));
        assertThat(read.digest()).isEqualTo(model.digest());
    }

    @Test
    void read_headerOfManyTinyEntries_isRefusedBeforeItBecomesATree() throws Exception {
        // Within the header's byte bound, millions of tiny metadata entries would grow the parsed tree several times
        // the file's size (a 43 MiB file exhausted a 256 MiB heap); the streaming count refuses them first.
        StringBuilder meta = new StringBuilder("{\"__metadata__\":{");
        for (int i = 0; i <= SafeTensors.MAX_METADATA_ENTRIES; i++) {
            meta.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        meta.append("},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        Path file = write("metadata.safetensors", assemble(meta.toString(), floats(1f)));
        assertThatThrownBy(() -> SafeTensors.read(file)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("more than " + SafeTensors.MAX_METADATA_ENTRIES + " __metadata__ entries");

        StringBuilder tensors = new StringBuilder("{");
        for (int i = 0; i <= SafeTensors.MAX_TENSORS; i++) {
            tensors.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{}");
        }
        Path many = write("tensors.safetensors", assemble(tensors.append("}").toString(), new byte[0]));
        assertThatThrownBy(() -> SafeTensors.read(many)).isInstanceOf(IOException.class)
                .hasMessageContaining("more than " + SafeTensors.MAX_TENSORS + " tensors");
    }

    @Test
    void read_halfPrecisionAndIntegerBuffers_refusedNamingEachTensorAndWhatToDo() throws Exception {
        String header = "{\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]}}";
        Path file = write("mixed.safetensors", assemble(header, new byte[20]));
        assertThatThrownBy(() -> SafeTensors.read(file)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("2 tensors are not float32")
                .hasMessageContaining("tensor bn.num_batches_tracked has dtype I64")
                .hasMessageContaining("strict=False")
                .hasMessageContaining("tensor fc.weight has dtype F16")
                .hasMessageContaining("model.float()")
                .hasMessageNotContaining("bn.weight");
    }

    static Stream<Arguments> hostileHeaders() {
        String ok = "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]";
        return Stream.of(
                Arguments.of("not JSON", "{\"w\":", 8, "not valid JSON"),
                Arguments.of("a list", "[1,2]", 8, "not a JSON object"),
                Arguments.of("trailing content", "{\"w\":{" + ok + "}} {}", 8, "not valid JSON"),
                Arguments.of("duplicate name", "{\"w\":{" + ok + "},\"w\":{" + ok + "}}", 8, "Duplicate field 'w'"),
                Arguments.of("no tensors", "{\"__metadata__\":{\"format\":\"pt\"}}", 0, "holds no tensors"),
                Arguments.of("overlap", "{\"a\":{" + ok + "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                        12, "tensor b starts at data offset 4, expected 8 (it overlaps"),
                Arguments.of("gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
                        "tensor a starts at data offset 4, expected 0 (a gap"),
                Arguments.of("past the end", "{\"w\":{" + ok + "}}", 4, "ends at data offset 8, past the end of the file's 4"),
                Arguments.of("trailing bytes", "{\"w\":{" + ok + "}}", 12, "4 bytes after the last tensor's data"),
                Arguments.of("length vs shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                        "cover 8 bytes, but shape [3] of float32 needs 12"),
                Arguments.of("reversed offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
                        "cover -8 bytes"),
                Arguments.of("huge offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}",
                        8, "are not non-negative integers"),
                Arguments.of("scalar", "{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
                        "tensor t is a scalar (shape [])"),
                Arguments.of("empty tensor", "{\"t\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}", 0,
                        "tensor t has no elements"),
                Arguments.of("negative dimension", "{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                        "not a list of non-negative integers"),
                Arguments.of("fractional dimension", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                        "not a list of non-negative integers"),
                Arguments.of("rank 9", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
                        "rank must be 1..8"),
                Arguments.of("overflowing shape", "{\"t\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,8]}}", 8,
                        "too large"),
                Arguments.of("name with a space", "{\"a b\":{" + ok + "}}", 8, "tensor name 'a b' is not 1-128 printable"),
                Arguments.of("control character in a name", "{\"a\\u0007\":{" + ok + "}}", 8, "tensor name 'a\\u0007'"),
                Arguments.of("unknown field", "{\"w\":{" + ok + ",\"offset\":3}}", 8, "unknown field 'offset'"),
                Arguments.of("missing dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype missing"),
                Arguments.of("unknown dtype", "{\"w\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                        "tensor w has dtype Q7 (not a safetensors dtype pqfl knows)"),
                Arguments.of("metadata not strings", "{\"__metadata__\":{\"n\":3},\"w\":{" + ok + "}}", 8,
                        "__metadata__ value of 'n' is not a string"),
                Arguments.of("tensor order names a stranger",
                        "{\"__metadata__\":{\"pqfl.tensor_order\":\"[\\\"v\\\"]\"},\"w\":{" + ok + "}}", 8,
                        "pqfl.tensor_order names \"v\", which is not a tensor of the file"),
                Arguments.of("tensor order leaves one out",
                        "{\"__metadata__\":{\"pqfl.tensor_order\":\"[\\\"a\\\"]\"},\"a\":{" + ok
                                + "},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
                        "pqfl.tensor_order leaves out tensor b"),
                Arguments.of("tensor order twice",
                        "{\"__metadata__\":{\"pqfl.tensor_order\":\"[\\\"w\\\",\\\"w\\\"]\"},\"w\":{" + ok + "}}", 8,
                        "names w twice"),
                Arguments.of("architecture with a newline",
                        "{\"__metadata__\":{\"pqfl.architecture\":\"x\\ny\"},\"w\":{" + ok + "}}", 8,
                        "pqfl.architecture must be 1-128 printable ASCII characters: 'x\\u000ay'"),
                Arguments.of("deeply nested", "{\"w\":" + "[".repeat(100) + "]".repeat(100) + "}", 8, "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileHeaders")
    void read_hostileHeader_isRefusedNamingTheFileAndTheProblem(String name, String header, int dataBytes, String problem)
            throws Exception {
        Path file = write("hostile.safetensors", assemble(header, new byte[dataBytes]));
        assertThatThrownBy(() -> SafeTensors.read(file)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(file + ": ").hasMessageContaining(problem);
    }

    @Test
    void read_headerLengthBeyondTheFileOrTheLimit_refusedBeforeAllocating() throws Exception {
        // 100 MB claimed by a 20-byte file: refused by size, so no 100 MB buffer is allocated.
        Path claimsTooMuch = write("a.safetensors", withLength(SafeTensors.MAX_HEADER_BYTES, "{}"));
        assertThatThrownBy(() -> SafeTensors.read(claimsTooMuch)).hasMessageContaining("runs past the end of the file");
        Path overLimit = write("b.safetensors", withLength(SafeTensors.MAX_HEADER_BYTES + 1, "{}"));
        assertThatThrownBy(() -> SafeTensors.read(overLimit)).hasMessageContaining("outside 2..104857600");
        Path negative = write("c.safetensors", withLength(-1, "{}"));
        assertThatThrownBy(() -> SafeTensors.read(negative)).hasMessageContaining("header length 18446744073709551615");
        Path tiny = write("d.safetensors", new byte[5]);
        assertThatThrownBy(() -> SafeTensors.read(tiny)).hasMessageContaining("too short");
    }

    @Test
    void formatDetection_byContent_notByName() throws Exception {
        Path safetensors = dir.resolve("model.bin");
        SafeTensors.write(safetensors, tiny(1), Map.of());
        Path pqfl = dir.resolve("model.safetensors");
        ModelFiles.write(pqfl, tiny(2), null);
        Path junk = write("junk.safetensors", "hello, world".getBytes(StandardCharsets.US_ASCII));

        assertThat(ModelFileFormat.detect(safetensors)).isEqualTo(ModelFileFormat.SAFETENSORS);
        assertThat(ModelFileFormat.detect(pqfl)).isEqualTo(ModelFileFormat.PQFL);
        assertThat(ModelFileFormat.readWeights(safetensors).digest()).isEqualTo(tiny(1).digest());
        assertThat(ModelFileFormat.readWeights(pqfl).digest()).isEqualTo(tiny(2).digest());
        assertThatThrownBy(() -> ModelFileFormat.readWeights(junk)).isInstanceOf(IOException.class)
                .hasMessage(junk + ": neither a pqfl model file nor a safetensors file");
    }

    @Test
    void readWeights_nonFiniteValue_refusedNamingTheTensor() throws Exception {
        ModelWeights model = tiny(0);
        model.tensor(1)[2] = Float.NaN;
        Path file = dir.resolve("nan.safetensors");
        SafeTensors.write(file, model, Map.of());
        assertThatThrownBy(() -> ModelFileFormat.readWeights(file))
                .hasMessage(file + ": tensor b holds a NaN or infinite value");
    }

    private static ModelWeights randomModel(String architecture, Random random, TensorSpec... specs) {
        ModelManifest manifest = new ModelManifest(architecture, List.of(specs));
        float[][] values = new float[specs.length][];
        for (int i = 0; i < specs.length; i++) {
            values[i] = new float[specs[i].elementCount()];
            for (int j = 0; j < values[i].length; j++) {
                values[i][j] = (float) random.nextGaussian();
            }
        }
        return ModelWeights.of(manifest, values);
    }

    /** A safetensors file: u64 LE header length, the header padded with spaces to a multiple of 8, the data. */
    static byte[] assemble(String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.writeBytes(json);
        out.writeBytes(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static byte[] withLength(long length, String header) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(length).array());
        out.writeBytes(header.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(new byte[10]);
        return out.toByteArray();
    }

    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }
}
