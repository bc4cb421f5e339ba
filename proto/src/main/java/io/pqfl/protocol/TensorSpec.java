package io.pqfl.protocol;

import java.util.List;
import java.util.Objects;

/**
 * A named tensor's shape and element type. Names are 1-128 printable ASCII characters; the rank is 1 to 8 and every
 * dimension is positive; the type is {@link DType#FLOAT32} (the only one pqfl federates).
 */
public record TensorSpec(String name, List<Integer> shape, DType dtype) {
    /** The wire name of the only element type pqfl federates: {@code DType.FLOAT32.wireName()}. */
    public static final String DTYPE = "float32";

    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        if (name.isEmpty() || name.length() > 128 || !name.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IllegalArgumentException("tensor name must be 1-128 printable ASCII characters: '" + name + "'");
        }
        shape = List.copyOf(Objects.requireNonNull(shape, "shape"));
        if (shape.isEmpty() || shape.size() > 8) {
            throw new IllegalArgumentException("tensor " + name + ": rank must be 1..8, got " + shape.size());
        }
        long n = 1;
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor " + name + ": dimensions must be positive, got " + shape);
            }
            n *= d;
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("tensor " + name + " too large: " + shape);
            }
        }
    }

    /** A float32 tensor. */
    public TensorSpec(String name, List<Integer> shape) {
        this(name, shape, DType.FLOAT32);
    }

    /** A float32 tensor. */
    public static TensorSpec of(String name, int... shape) {
        return new TensorSpec(name, java.util.Arrays.stream(shape).boxed().toList());
    }

    public int elementCount() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteCount() {
        return (long) dtype.byteSize() * elementCount();
    }
}
