package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PayloadHasherTest {
    @Test
    void abc_matchesFips180Vector() {
        // FIPS 180-2, Appendix C.1: SHA-512("abc").
        assertThat(PayloadDigest.of("abc".getBytes(StandardCharsets.US_ASCII)).hex()).isEqualTo(
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                        + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    }

    @Test
    void chunkedHeapDirectAndStream_allEqualOneShot() throws Exception {
        byte[] payload = new byte[3_000_001];
        new Random(7).nextBytes(payload);
        PayloadDigest oneShot = PayloadDigest.of(payload);

        PayloadHasher chunked = new PayloadHasher();
        PayloadHasher direct = new PayloadHasher();
        for (int off = 0; off < payload.length; off += 65_537) {
            int len = Math.min(65_537, payload.length - off);
            chunked.update(payload, off, len);
            ByteBuffer buffer = ByteBuffer.allocateDirect(len).put(payload, off, len).flip();
            direct.update(buffer);
            assertThat(buffer.hasRemaining()).isFalse();
        }
        assertThat(chunked.byteCount()).isEqualTo(payload.length);
        assertThat(chunked.finish()).isEqualTo(oneShot);
        assertThat(direct.finish()).isEqualTo(oneShot);
        assertThat(PayloadDigest.of(new ByteArrayInputStream(payload))).isEqualTo(oneShot);
    }

    @Test
    void differentPayloads_differentDigests() {
        byte[] a = new byte[1024];
        byte[] b = a.clone();
        b[1023] = 1;
        assertThat(PayloadDigest.of(a).matches(PayloadDigest.of(b))).isFalse();
        assertThat(PayloadDigest.of(a).matches(PayloadDigest.of(a.clone()))).isTrue();
    }

    @Test
    void finishTwice_throws() {
        PayloadHasher hasher = new PayloadHasher();
        hasher.finish();
        assertThatThrownBy(hasher::finish).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> hasher.update(new byte[1])).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void ofBytes_wrongLength_throws() {
        assertThatThrownBy(() -> PayloadDigest.ofBytes(new byte[32])).hasMessageContaining("64 bytes");
    }
}
