package io.pqfl.client.train;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A TorchScript module (a {@code .pt} file written by {@code torch.jit.save}) loaded with DJL's PyTorch engine
 * as a block that DJL's {@code Trainer} can train, with the federation's manifest taken from the module.
 *
 * <p>The manifest's tensors are the module's parameters ({@code named_parameters()} in PyTorch), with their
 * TorchScript names ({@code conv1.weight}, ...), in the module's order; its architecture label is the file name
 * without {@code .pt}. A module is refused, with a {@link TorchScriptException} naming the cause, when pqfl could
 * not federate it faithfully:
 * <ul>
 *   <li>it declares buffers (BatchNorm's {@code running_mean}, {@code running_var}, {@code num_batches_tracked}):
 *       DJL sees a TorchScript module's parameters only, so buffers would be updated on each client and never
 *       sent, aggregated or signed;</li>
 *   <li>a parameter is not float32;</li>
 *   <li>it has no parameters, is not a TorchScript archive (e.g. a {@code torch.save} state_dict), was written by
 *       a PyTorch newer than the bundled libtorch 2.7.1, or refuses a batch of the declared input shape.</li>
 * </ul>
 * The alternative for such models is to export their weights as safetensors and train a DJL {@code Block}
 * (docs/OWN-MODEL.md).
 *
 * <p>DJL cannot infer a TorchScript module's input shape, so the caller declares the shape of one example
 * ({@code [1, 28, 28]} for a grey 28x28 image); {@link #load} runs one batch of that shape through the module to
 * check it. Every parameter is trainable (DJL's {@code trainParam} option), including ones frozen in PyTorch,
 * and the module is put in training mode even if it was saved after {@code eval()}. Loading turns libtorch's
 * graph executor optimisation off for TorchScript forwards (the system property
 * {@code ai.djl.pytorch.graph_optimizer=false}) unless the property is already set.
 *
 * <p>The block lives as long as this object: close it after the last trainer that uses the block.
 */
public final class TorchScriptModel implements AutoCloseable {
    /** DJL's PyTorch options: parameters require gradients; tensors are loaded onto the model's device. */
    private static final Map<String, String> OPTIONS = Map.of("trainParam", "true", "mapLocation", "true");
    private static final String GRAPH_OPTIMIZER = "ai.djl.pytorch.graph_optimizer";
    private static final Pattern CLASS = Pattern.compile("^class\\s+(\\w+)\\s*\\(", Pattern.MULTILINE);
    private static final Pattern BUFFERS = Pattern.compile("^\\s+__buffers__\\s*=\\s*\\[([^\\]]*)\\]", Pattern.MULTILINE);
    private static final Pattern QUOTED = Pattern.compile("\"([^\"]*)\"");
    private static final long MAX_CODE_BYTES = 16L << 20;
    private static final String ALTERNATIVE = "; to federate such a model, export its weights as safetensors and "
            + "train it as a DJL Block (docs/OWN-MODEL.md)";

    private final Model model;
    private final PtSymbolBlock block;
    private final ModelManifest manifest;
    private final Shape inputShape;
    private final Shape outputShape;
    private final ModelWeights initial;

    private TorchScriptModel(Model model, PtSymbolBlock block, ModelManifest manifest, Shape inputShape,
                             Shape outputShape, ModelWeights initial) {
        this.model = model;
        this.block = block;
        this.manifest = manifest;
        this.inputShape = inputShape;
        this.outputShape = outputShape;
        this.initial = initial;
    }

    /**
     * Loads {@code pt} onto {@code device} for training.
     *
     * @param inputShape the shape of one example, without the batch dimension (e.g. {@code 1, 28, 28})
     * @throws TorchScriptException when the file cannot be read or its module cannot be federated (the message
     *                              says why and names the tensor, buffer or shape concerned)
     */
    public static TorchScriptModel load(Path pt, int[] inputShape, Device device) throws TorchScriptException {
        Objects.requireNonNull(pt, "pt");
        Objects.requireNonNull(inputShape, "inputShape");
        Objects.requireNonNull(device, "device");
        if (inputShape.length == 0 || Arrays.stream(inputShape).anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("the input shape of one example needs positive dimensions, got "
                    + Arrays.toString(inputShape));
        }
        if (!Files.isRegularFile(pt)) {
            throw new TorchScriptException(pt + ": no such file");
        }
        List<String> buffers = declaredBuffers(pt);
        if (!buffers.isEmpty()) {
            throw new TorchScriptException(pt + ": the module has buffers " + String.join(", ", buffers)
                    + "; DJL trains a TorchScript module's parameters only, so buffers would never be federated"
                    + " (BatchNorm keeps its running statistics in buffers: leave it out, or use GroupNorm/LayerNorm)"
                    + ALTERNATIVE);
        }
        // With libtorch's graph executor optimisation on (DJL's default), a module with dropout that first runs
        // in training mode and is then evaluated fails ("Inference tensors cannot be saved for backward"): the
        // plan profiled while training is reused under inference mode. DJL switches the optimisation per forward
        // call from this property; it only affects TorchScript modules, and brings nothing to CPU training.
        if (System.getProperty(GRAPH_OPTIMIZER) == null) {
            System.setProperty(GRAPH_OPTIMIZER, "false");
        }
        String architecture = pt.getFileName().toString().replaceFirst("\\.pt$", "");
        Model model = Model.newInstance(architecture, device, "PyTorch");
        try {
            TorchScriptModel loaded = open(model, pt, architecture, inputShape);
            model = null;
            return loaded;
        } finally {
            if (model != null) {
                model.close();
            }
        }
    }

    private static TorchScriptModel open(Model model, Path pt, String architecture, int[] inputShape)
            throws TorchScriptException {
        try {
            model.load(pt, null, OPTIONS);
        } catch (IOException | MalformedModelException | EngineException e) {
            throw new TorchScriptException(pt + ": libtorch 2.7.1 cannot load this TorchScript file (export it with"
                    + " torch 2.7 or older): " + e.getMessage(), e);
        }
        if (!(model.getBlock() instanceof PtSymbolBlock block)) {
            throw new TorchScriptException(pt + ": DJL did not load a TorchScript module from it");
        }
        // DJL assumes a freshly loaded module is in training mode and only switches when that changes, so a
        // module saved after eval() would train with dropout off; put it in the mode DJL believes it is in.
        JniUtils.enableTrainingMode(block);

        List<TensorSpec> tensors = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray array = p.getValue().getArray();
            if (array.getDataType() != DataType.FLOAT32) {
                throw new TorchScriptException(pt + ": parameter " + p.getKey() + " is "
                        + array.getDataType().toString().toLowerCase(Locale.ROOT)
                        + "; pqfl federates float32 parameters only (call .float() on the module before exporting)");
            }
            long[] shape = array.getShape().getShape();
            if (shape.length == 0) {
                throw new TorchScriptException(pt + ": parameter " + p.getKey() + " is a scalar; give it shape [1]");
            }
            tensors.add(TensorSpec.of(p.getKey(), Arrays.stream(shape).mapToInt(Math::toIntExact).toArray()));
        }
        if (tensors.isEmpty()) {
            throw new TorchScriptException(pt + ": the module has no parameters to train");
        }
        ModelManifest manifest = new ModelManifest(architecture, tensors);
        Shape input = new Shape(Arrays.stream(inputShape).asLongStream().toArray());
        Shape output = probe(model, block, pt, input);
        return new TorchScriptModel(model, block, manifest, input, output, WeightsCodec.read(block, manifest));
    }

    /** Runs one zero example of the declared shape through the module (no gradients) and returns the output's shape. */
    private static Shape probe(Model model, PtSymbolBlock block, Path pt, Shape input) throws TorchScriptException {
        Shape batch = new Shape(1).addAll(input);
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDList out = block.forward(new ParameterStore(manager, false), new NDList(manager.zeros(batch)), false);
            if (out.size() != 1) {
                throw new TorchScriptException(pt + ": the module returns " + out.size()
                        + " tensors; pqfl trains modules whose forward returns one tensor");
            }
            return out.singletonOrThrow().getShape();
        } catch (EngineException e) {
            throw new TorchScriptException(pt + ": the module refuses a batch of input shape " + batch
                    + " (declared example shape " + input + "): " + e.getMessage(), e);
        }
    }

    /**
     * The buffers declared in the archive's TorchScript code ({@code __buffers__} of each module class), as
     * {@code Class.buffer}. DJL's PyTorch engine exposes no buffer list, so the serialised code is the record.
     */
    static List<String> declaredBuffers(Path pt) throws TorchScriptException {
        List<String> found = new ArrayList<>();
        boolean hasCode = false;
        try (ZipFile zip = new ZipFile(pt.toFile())) {
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                String name = entry.getName();
                if (!name.contains("/code/") || !name.endsWith(".py")) {
                    continue;
                }
                hasCode = true;
                String code = read(zip, entry);
                Matcher buffers = BUFFERS.matcher(code);
                while (buffers.find()) {
                    Matcher owner = CLASS.matcher(code.substring(0, buffers.start()));
                    String cls = "?";
                    while (owner.find()) {
                        cls = owner.group(1);
                    }
                    Matcher quoted = QUOTED.matcher(buffers.group(1));
                    while (quoted.find()) {
                        found.add(cls + "." + quoted.group(1));
                    }
                }
            }
        } catch (ZipException e) {
            throw notTorchScript(pt);
        } catch (IOException e) {
            throw new TorchScriptException(pt + ": cannot read it: " + e.getMessage(), e);
        }
        if (!hasCode) {
            throw notTorchScript(pt);
        }
        return found;
    }

    private static TorchScriptException notTorchScript(Path pt) {
        return new TorchScriptException(pt + ": not a TorchScript archive (no code/ inside); a torch.save checkpoint"
                + " or state_dict holds weights without the module: save the module with"
                + " torch.jit.save(torch.jit.script(module), path)" + ALTERNATIVE);
    }

    private static String read(ZipFile zip, ZipEntry entry) throws IOException {
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) MAX_CODE_BYTES);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** The module as a DJL block: trainable, in the module's parameter order (the manifest's order). */
    public Block block() {
        return block;
    }

    /** The federation's manifest: the module's parameters, names, shapes, float32. */
    public ModelManifest manifest() {
        return manifest;
    }

    /** The declared shape of one example, without the batch dimension. */
    public Shape inputShape() {
        return inputShape;
    }

    /** The shape of the module's output for a batch of one example (e.g. {@code (1, 10)}). */
    public Shape outputShape() {
        return outputShape;
    }

    /**
     * The parameters saved in the file, bit-exact, as the federation's initial model; later training of
     * {@link #block()} does not change them.
     */
    public ModelWeights initialWeights() {
        return initial.copy();
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return "TorchScriptModel[" + manifest.architecture() + ", " + manifest.tensors().size() + " tensors, "
                + manifest.totalElements() + " values, input " + inputShape + "]";
    }
}
