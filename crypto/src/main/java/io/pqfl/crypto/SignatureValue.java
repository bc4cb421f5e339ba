package io.pqfl.crypto;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/** Signature bytes together with the scheme that made them. Immutable: the bytes are copied in and out. */
public final class SignatureValue {
    private final SignatureScheme scheme;
    private final byte[] bytes;

    private SignatureValue(SignatureScheme scheme, byte[] bytes) {
        this.scheme = Objects.requireNonNull(scheme, "scheme");
        this.bytes = Objects.requireNonNull(bytes, "bytes").clone();
    }

    public static SignatureValue of(SignatureScheme scheme, byte[] bytes) {
        return new SignatureValue(scheme, bytes);
    }

    public SignatureScheme scheme() {
        return scheme;
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    String hexPrefix() {
        return HexFormat.of().formatHex(bytes, 0, Math.min(8, bytes.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignatureValue other && scheme == other.scheme && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return 31 * scheme.hashCode() + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "SignatureValue[" + scheme + ", " + bytes.length + " bytes, " + hexPrefix() + "...]";
    }
}
