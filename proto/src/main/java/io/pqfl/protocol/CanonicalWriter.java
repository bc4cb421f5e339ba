package io.pqfl.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The byte encoding of pqfl's signed statements (docs/PROTOCOL.md, "Encoding"): big-endian fixed-width
 * integers, byte strings and UTF-8 strings prefixed with their length as a u32. Nothing else: no varints,
 * no optional fields, no maps, so one statement has exactly one encoding.
 */
final class CanonicalWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(512);

    CanonicalWriter u8(int v) {
        if (v < 0 || v > 0xff) {
            throw new IllegalArgumentException("u8 out of range: " + v);
        }
        out.write(v);
        return this;
    }

    CanonicalWriter u16(int v) {
        out.write((v >>> 8) & 0xff);
        out.write(v & 0xff);
        return this;
    }

    CanonicalWriter u32(long v) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException("u32 out of range: " + v);
        }
        for (int shift = 24; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift) & 0xff);
        }
        return this;
    }

    CanonicalWriter u64(long v) {
        if (v < 0) {
            throw new IllegalArgumentException("u64 field must not be negative: " + v);
        }
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift) & 0xff);
        }
        return this;
    }

    /** The IEEE 754 binary64 bits of {@code v}, big-endian (any bit pattern; the caller checks finiteness). */
    CanonicalWriter f64(double v) {
        long bits = Double.doubleToRawLongBits(v);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (bits >>> shift) & 0xff);
        }
        return this;
    }

    CanonicalWriter bytes(byte[] b) {
        u32(b.length);
        out.writeBytes(b);
        return this;
    }

    CanonicalWriter string(String s) {
        return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
