package io.pqfl.protocol;

import java.util.Objects;

/**
 * The element type of a manifest's tensors. pqfl federates float32 tensors only: the wire bytes, the payload
 * digest, aggregation and the finiteness checks are all defined over IEEE 754 binary32. The type is still named
 * in every manifest (the canonical encoding and the wire {@code TensorSpec.dtype} carry {@link #wireName()}), so a
 * later version can add types without changing the encoding of today's manifests.
 */
public enum DType {
    /** IEEE 754 binary32, little-endian on the wire. */
    FLOAT32("float32", 4);

    private final String wireName;
    private final int byteSize;

    DType(String wireName, int byteSize) {
        this.wireName = wireName;
        this.byteSize = byteSize;
    }

    /** The name in the canonical manifest encoding and on the wire, e.g. {@code "float32"}. */
    public String wireName() {
        return wireName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /**
     * The type named {@code wireName}; throws {@link IllegalArgumentException} naming {@code tensor} and the type
     * when pqfl cannot federate it.
     */
    public static DType fromWireName(String tensor, String wireName) {
        Objects.requireNonNull(wireName, "wireName");
        for (DType t : values()) {
            if (t.wireName.equals(wireName)) {
                return t;
            }
        }
        throw new IllegalArgumentException("tensor " + tensor + ": dtype '" + wireName
                + "' is not supported; pqfl federates float32 tensors only");
    }
}
