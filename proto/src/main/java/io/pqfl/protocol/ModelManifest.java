package io.pqfl.protocol;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The ordered list of tensors that makes up a model. Coordinator and client must agree on it exactly; its
 * canonical encoding is the first part of every model and update digest, so a digest also binds shapes.
 */
public record ModelManifest(String architecture, List<TensorSpec> tensors) {
    static final String TAG = "pqfl.manifest";
    static final int VERSION = 1;

    public ModelManifest {
        Objects.requireNonNull(architecture, "architecture");
        tensors = List.copyOf(Objects.requireNonNull(tensors, "tensors"));
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("a model has at least one tensor");
        }
        Set<String> names = new HashSet<>();
        for (TensorSpec t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("duplicate tensor name " + t.name());
            }
        }
    }

    public long totalElements() {
        return tensors.stream().mapToLong(TensorSpec::elementCount).sum();
    }

    /** Size of the model's tensor data on the wire (4 bytes per float32 element). */
    public long totalBytes() {
        return tensors.stream().mapToLong(TensorSpec::byteCount).sum();
    }

    /** The canonical encoding (docs/PROTOCOL.md, "Manifest"). */
    public byte[] encode() {
        CanonicalWriter w = new CanonicalWriter().string(TAG).u16(VERSION).string(architecture).u32(tensors.size());
        for (TensorSpec t : tensors) {
            w.string(t.name()).string(t.dtype().wireName()).u32(t.shape().size());
            for (int d : t.shape()) {
                w.u32(d);
            }
        }
        return w.toByteArray();
    }

    /** Whether {@code other} has the same tensors (names, shapes, dtypes, order); the architecture label is not compared. */
    public boolean sameTensors(ModelManifest other) {
        return other != null && tensors.equals(other.tensors);
    }

    /** A description of the first difference (tensors first, then the architecture label), for rejection messages. */
    public String describeMismatch(ModelManifest other) {
        if (other.tensors.size() != tensors.size()) {
            return "expected " + tensors.size() + " tensors, got " + other.tensors.size();
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec a = tensors.get(i);
            TensorSpec b = other.tensors.get(i);
            if (!a.equals(b)) {
                return "tensor " + i + ": expected " + a.name() + a.shape() + " " + a.dtype().wireName() + ", got "
                        + b.name() + b.shape() + " " + b.dtype().wireName();
            }
        }
        if (!architecture.equals(other.architecture)) {
            return "architecture label '" + other.architecture + "' differs from the round's '" + architecture + "'";
        }
        return "no difference";
    }
}
