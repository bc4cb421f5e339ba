package io.pqfl.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Reads {@link CanonicalWriter}'s encoding strictly: bounds-checked, valid UTF-8, nothing left over. */
final class CanonicalReader {
    private final ByteBuffer in;

    CanonicalReader(byte[] bytes) {
        this.in = ByteBuffer.wrap(bytes);
    }

    private void need(long n) {
        if (n < 0 || in.remaining() < n) {
            throw new IllegalArgumentException("truncated statement: need " + n + " bytes at offset " + in.position()
                    + ", " + in.remaining() + " left");
        }
    }

    int u8() {
        need(1);
        return Byte.toUnsignedInt(in.get());
    }

    int u16() {
        need(2);
        return Short.toUnsignedInt(in.getShort());
    }

    long u32() {
        need(4);
        return Integer.toUnsignedLong(in.getInt());
    }

    long u64() {
        need(8);
        long v = in.getLong();
        if (v < 0) {
            throw new IllegalArgumentException("u64 value too large at offset " + (in.position() - 8));
        }
        return v;
    }

    double f64() {
        need(8);
        return Double.longBitsToDouble(in.getLong());
    }

    byte[] bytes() {
        long n = u32();
        need(n);
        byte[] b = new byte[(int) n];
        in.get(b);
        return b;
    }

    String string() {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes())).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("invalid UTF-8 in statement", e);
        }
    }

    void expectTag(String tag, int version) {
        String t = string();
        if (!t.equals(tag)) {
            throw new IllegalArgumentException("expected a " + tag + ", found tag '" + t + "'");
        }
        int v = u16();
        if (v != version) {
            throw new IllegalArgumentException(tag + " version " + v + " is not supported (only " + version + ")");
        }
    }

    void end() {
        if (in.hasRemaining()) {
            throw new IllegalArgumentException(in.remaining() + " trailing bytes after the statement");
        }
    }
}
