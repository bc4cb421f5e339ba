package io.pqfl.crypto.secagg;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * HKDF-SHA-512 (RFC 5869) with a labelled, length-prefixed info, so that no two derivations of the protocol can
 * produce the same input: every derived key names its purpose and every variable-length part carries its length.
 */
final class Kdf {
    private Kdf() {
    }

    /** {@code length} bytes from {@code ikm} for {@code label} and the {@code parts} of its context. */
    static byte[] derive(byte[] ikm, String label, int length, byte[]... parts) {
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        append(info, label.getBytes(StandardCharsets.US_ASCII));
        for (byte[] p : parts) {
            append(info, p);
        }
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA512Digest());
        hkdf.init(new HKDFParameters(ikm, null, info.toByteArray()));
        byte[] out = new byte[length];
        hkdf.generateBytes(out, 0, length);
        return out;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void append(ByteArrayOutputStream out, byte[] part) {
        int n = part.length;
        out.write(n >>> 24);
        out.write(n >>> 16);
        out.write(n >>> 8);
        out.write(n);
        out.writeBytes(part);
    }

    /** {@code a || b || ...}. */
    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
