package io.pqfl.protocol;

import static io.pqfl.protocol.ProtocolFixtures.FEDERATION;
import static io.pqfl.protocol.ProtocolFixtures.LEDGER_HEAD;
import static io.pqfl.protocol.ProtocolFixtures.TINY;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.testing.TestKeys;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProtocolDomainTest {
    private static final RoundNonce NONCE = RoundNonce.of(new byte[32]);

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 5, 7, 4096})
    void receiver_anyChunkBoundaries_decodesAndDigestsLikeTheSender(int chunk) throws Exception {
        ModelWeights model = mlpShaped(1);
        byte[] bytes = model.toBytes();
        WeightsReceiver receiver = new WeightsReceiver(model.manifest());
        for (int off = 0; off < bytes.length; off += chunk) {
            receiver.accept(ByteBuffer.wrap(bytes, off, Math.min(chunk, bytes.length - off)).slice());
            if (chunk < 8 && off > 64) {
                // Enough to cover odd boundaries without 100k tiny calls.
                receiver.accept(ByteBuffer.wrap(bytes, off + chunk, bytes.length - off - chunk).slice());
                break;
            }
        }
        assertThat(receiver.isComplete()).isTrue();
        assertThat(receiver.digest()).isEqualTo(model.digest());
        ModelWeights decoded = receiver.weights();
        for (int i = 0; i < model.tensorCount(); i++) {
            assertThat(decoded.tensor(i)).containsExactly(model.tensor(i));
        }
    }

    /** Random weights in the shape of a 784-128-10 perceptron (101,770 values): a realistically sized model. */
    private static ModelWeights mlpShaped(long seed) {
        ModelManifest manifest = new ModelManifest("mlp", List.of(TensorSpec.of("fc1.weight", 128, 784),
                TensorSpec.of("fc1.bias", 128), TensorSpec.of("fc2.weight", 10, 128), TensorSpec.of("fc2.bias", 10)));
        Random random = new Random(seed);
        float[][] values = new float[manifest.tensors().size()][];
        for (int t = 0; t < values.length; t++) {
            values[t] = new float[manifest.tensors().get(t).elementCount()];
            for (int i = 0; i < values[t].length; i++) {
                values[t][i] = (float) random.nextGaussian();
            }
        }
        return ModelWeights.of(manifest, values);
    }

    @Test
    void receiver_moreBytesThanManifest_overflowsBeforeDecoding() throws Exception {
        WeightsReceiver receiver = new WeightsReceiver(TINY);
        receiver.accept(new byte[32]);
        assertThatThrownBy(() -> receiver.accept(new byte[8]))
                .isInstanceOf(WeightsReceiver.OverflowException.class).hasMessageContaining("describes 36");
        assertThat(receiver.receivedBytes()).isEqualTo(32);
    }

    @Test
    void digest_bindsTheManifest_notJustTheBytes() {
        ModelWeights a = tiny(1);
        ModelManifest reshaped = new ModelManifest("tiny", List.of(TensorSpec.of("w", 3, 2), TensorSpec.of("b", 3)));
        ModelWeights b = ModelWeights.of(reshaped, new float[][] {a.tensor(0), a.tensor(1)});
        assertThat(a.toBytes()).isEqualTo(b.toBytes());
        assertThat(a.digest()).isNotEqualTo(b.digest());
    }

    @Test
    void updateStatement_everyFieldChangesTheEncoding() {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        PayloadDigest base = tiny(0).digest();
        PayloadDigest upd = tiny(1).digest();
        ClientId c = new ClientId("c1");
        UpdateStatement s = new UpdateStatement(FEDERATION, 3, NONCE, base, c, key.keyId(), key.scheme(), upd, 10);
        byte[] e = s.encode();
        List<UpdateStatement> variants = List.of(
                new UpdateStatement("other", 3, NONCE, base, c, key.keyId(), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 4, NONCE, base, c, key.keyId(), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 3, RoundNonce.random(new SecureRandom()), base, c, key.keyId(), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, upd, c, key.keyId(), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, base, new ClientId("c2"), key.keyId(), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, base, c, new KeyId("00".repeat(16)), key.scheme(), upd, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, base, c, key.keyId(), SignatureScheme.ML_DSA_65, upd, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, base, c, key.keyId(), key.scheme(), base, 10),
                new UpdateStatement(FEDERATION, 3, NONCE, base, c, key.keyId(), key.scheme(), upd, 11));
        for (UpdateStatement v : variants) {
            assertThat(v.encode()).isNotEqualTo(e);
        }
        assertThat(new String(Arrays.copyOfRange(e, 4, 4 + UpdateStatement.TAG.length()))).isEqualTo(UpdateStatement.TAG);
    }

    @Test
    void updateHeader_survivesTheWire_andItsStatementCarriesEveryClaimPlusTheDigest() {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        UpdateHeader h = ProtocolFixtures.updateHeader(key, new ClientId("c1"), 3, NONCE, tiny(0).digest(), TINY, 10);
        io.pqfl.proto.v1.UpdateHeader wire = WireMapping.toWire(h);
        assertThat(wire.getScheme()).isEqualTo("ML-DSA-44");
        assertThat(wire.getUpdateBytes()).isEqualTo(TINY.totalBytes());
        assertThat(WireMapping.fromWire(wire)).isEqualTo(h);

        PayloadDigest update = tiny(1).digest();
        assertThat(h.statement(update)).isEqualTo(new UpdateStatement(FEDERATION, 3, NONCE, tiny(0).digest(),
                new ClientId("c1"), key.keyId(), key.scheme(), update, 10));
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder().setBaseModelDigest(ByteString.copyFrom(new byte[3]))
                .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base_model_digest");
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder().setScheme("RSA").build()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unsignedUpdateHeader_announcesNoKeyOrScheme_onTheWireOrOff_untilTheCoordinatorAttributesIt() {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        UpdateHeader signed = ProtocolFixtures.updateHeader(key, new ClientId("c1"), 3, NONCE, tiny(0).digest(), TINY, 10);
        UpdateHeader unsigned = new UpdateHeader(FEDERATION, 3, NONCE, new ClientId("c1"), null, null, tiny(0).digest(),
                TINY, 10, TINY.totalBytes());
        assertThat(unsigned.announcesKey()).isFalse();
        io.pqfl.proto.v1.UpdateHeader wire = WireMapping.toWire(unsigned);
        assertThat(wire.getKeyId()).isEmpty();
        assertThat(wire.getScheme()).isEmpty();
        assertThat(WireMapping.fromWire(wire)).isEqualTo(unsigned);
        assertThatThrownBy(() -> unsigned.statement(tiny(1).digest())).isInstanceOf(IllegalStateException.class);

        // Attributed to the key the client proved at Hello, it makes the statement a signed header would.
        UpdateHeader attributed = unsigned.attributedTo(key.keyId(), key.scheme());
        assertThat(attributed).isEqualTo(signed);
        assertThat(attributed.statement(tiny(1).digest())).isEqualTo(signed.statement(tiny(1).digest()));
        assertThatThrownBy(() -> signed.attributedTo(key.keyId(), key.scheme())).isInstanceOf(IllegalStateException.class);

        // A key id without a scheme, or a scheme without a key id, is neither signed nor unsigned.
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder().setScheme("ML-DSA-44").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("together");
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder().setKeyId(key.keyId().hex()).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("together");
    }

    @Test
    void modelStatement_receiptIsSortedAndUnique() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        ReceiptEntry b = new ReceiptEntry(new ClientId("b"), tiny(2).digest(), 5);
        ReceiptEntry a = new ReceiptEntry(new ClientId("a"), tiny(1).digest(), 7);
        ModelStatement s1 = new ModelStatement(FEDERATION, 1, tiny(3).digest(), tiny(0).digest(), LEDGER_HEAD, List.of(b, a),
                key.scheme(), key.keyId());
        ModelStatement s2 = new ModelStatement(FEDERATION, 1, tiny(3).digest(), tiny(0).digest(), LEDGER_HEAD, List.of(a, b),
                key.scheme(), key.keyId());
        assertThat(s1.encode()).isEqualTo(s2.encode());
        assertThat(s1.receipt().get(0).clientId().value()).isEqualTo("a");
        assertThatThrownBy(() -> new ModelStatement(FEDERATION, 1, tiny(3).digest(), tiny(0).digest(), LEDGER_HEAD, List.of(a, a),
                key.scheme(), key.keyId())).hasMessageContaining("appears twice");
    }

    private static SignedModel sign(SigningKey key, ModelWeights model) {
        ModelStatement st = new ModelStatement(FEDERATION, 2, model.digest(), tiny(0).digest(), LEDGER_HEAD, List.of(),
                key.scheme(), key.keyId());
        return new SignedModel(st, Signer.create(key).sign(st.encode()));
    }

    @Test
    void modelStatement_version2_carriesTheLedgerHeadRightAfterTheParentDigest() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        ModelStatement s = new ModelStatement(FEDERATION, 2, tiny(3).digest(), tiny(0).digest(), LEDGER_HEAD, List.of(),
                key.scheme(), key.keyId());
        byte[] e = s.encode();
        ByteBuffer in = ByteBuffer.wrap(e);
        in.position(4 + ModelStatement.TAG.length());
        assertThat(in.getShort()).isEqualTo((short) 2);
        // federation id, model round, model digest, parent digest: then the head, length-prefixed.
        in.position(in.position() + 4 + FEDERATION.length() + 8 + 4 + PayloadDigest.BYTES + 4 + PayloadDigest.BYTES);
        assertThat(in.getInt()).isEqualTo(LedgerHead.BYTES);
        byte[] head = new byte[LedgerHead.BYTES];
        in.get(head);
        assertThat(head).isEqualTo(LEDGER_HEAD.bytes());
        assertThat(in.getInt()).as("no strategy state: an empty byte string").isZero();
        assertThat(in.getInt()).as("receipt count follows").isZero();

        assertThat(ModelStatement.decode(e)).isEqualTo(s);
        ModelStatement otherHead = new ModelStatement(FEDERATION, 2, tiny(3).digest(), tiny(0).digest(), LedgerHead.EMPTY,
                List.of(), key.scheme(), key.keyId());
        assertThat(otherHead.encode()).isNotEqualTo(e);
        assertThatThrownBy(() -> new ModelStatement(FEDERATION, 2, tiny(3).digest(), tiny(0).digest(), null, List.of(),
                key.scheme(), key.keyId())).hasMessageContaining("ledgerHead");
    }

    @Test
    void modelStatement_version1_isRefused() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        byte[] e = new ModelStatement(FEDERATION, 0, tiny(0).digest(), null, LedgerHead.EMPTY, List.of(), key.scheme(),
                key.keyId()).encode();
        e[4 + ModelStatement.TAG.length() + 1] = 1;
        assertThatThrownBy(() -> ModelStatement.decode(e)).hasMessageContaining("version 1 is not supported (only 2)");
    }

    @Test
    void signedModel_ledgerHeadTravelsOnTheWire_andAnotherHeadDoesNotVerify() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        ModelWeights model = tiny(5);
        io.pqfl.proto.v1.ModelSignature wire = WireMapping.toWire(sign(key, model));
        assertThat(wire.getLedgerHead().toByteArray()).isEqualTo(LEDGER_HEAD.bytes());
        assertThat(WireMapping.fromWire(wire).statement().ledgerHead()).isEqualTo(LEDGER_HEAD);

        byte[] other = LEDGER_HEAD.bytes();
        other[63] ^= 1;
        SignedModel moved = WireMapping.fromWire(wire.toBuilder().setLedgerHead(ByteString.copyFrom(other)).build());
        assertThatThrownBy(() -> moved.verify(key.verifyingKey(), FEDERATION, model.digest()))
                .isInstanceOf(ModelRejectedException.class).hasMessageContaining("does not verify");
        assertThatThrownBy(() -> WireMapping.fromWire(wire.toBuilder().clearLedgerHead().build()))
                .hasMessageContaining("ledger_head must be 64 bytes, got 0");
    }

    @Test
    void signedModel_verifiesWithPinnedKey_andSurvivesTheWire() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        ModelWeights model = tiny(5);
        SignedModel signed = WireMapping.fromWire(WireMapping.toWire(sign(key, model)));
        assertThatCode(() -> signed.verify(key.verifyingKey(), FEDERATION, model.digest())).doesNotThrowAnyException();
    }

    @Test
    void signedModel_alteredBytes_alteredSignature_otherSigner_areRejected() {
        SigningKey key = ProtocolFixtures.coordinatorKey();
        ModelWeights model = tiny(5);
        SignedModel signed = sign(key, model);

        byte[] altered = model.toBytes();
        altered[5] ^= 1;
        PayloadDigest alteredDigest = new io.pqfl.crypto.PayloadHasher().update(TINY.encode()).update(altered).finish();
        assertThatThrownBy(() -> signed.verify(key.verifyingKey(), FEDERATION, alteredDigest))
                .isInstanceOf(ModelRejectedException.class).hasMessageContaining("do not match the signed digest");

        byte[] sig = signed.signature().bytes();
        sig[10] ^= 1;
        SignedModel badSig = new SignedModel(signed.statement(), SignatureValue.of(key.scheme(), sig));
        assertThatThrownBy(() -> badSig.verify(key.verifyingKey(), FEDERATION, model.digest()))
                .isInstanceOf(ModelRejectedException.class).hasMessageContaining("does not verify");

        SigningKey impostor = TestKeys.otherKey(SignatureScheme.ML_DSA_65);
        SignedModel forged = sign(impostor, model);
        assertThatThrownBy(() -> forged.verify(key.verifyingKey(), FEDERATION, model.digest()))
                .isInstanceOf(ModelRejectedException.class).hasMessageContaining("not by the pinned coordinator key");

        assertThatThrownBy(() -> signed.verify(key.verifyingKey(), "another-fed", model.digest()))
                .isInstanceOf(ModelRejectedException.class).hasMessageContaining("not another-fed");
    }

    @Test
    void wireManifest_rejectsUnknownDtypeAndBadDims() {
        var wire = WireMapping.toWire(TINY).toBuilder();
        wire.setTensors(0, wire.getTensors(0).toBuilder().setDtype("float16"));
        assertThatThrownBy(() -> WireMapping.fromWire(wire.build())).hasMessageContaining("float16");
        var wire2 = WireMapping.toWire(TINY).toBuilder();
        wire2.setTensors(0, wire2.getTensors(0).toBuilder().setShape(0, -1));
        assertThatThrownBy(() -> WireMapping.fromWire(wire2.build())).hasMessageContaining("bad dimension");
        assertThat(WireMapping.fromWire(WireMapping.toWire(TINY))).isEqualTo(TINY);
    }

    @Test
    void nonFiniteValues_areFound() {
        ModelWeights m = tiny(1);
        assertThat(m.firstNonFiniteTensor()).isEqualTo(-1);
        m.tensor(1)[2] = Float.NaN;
        assertThat(m.firstNonFiniteTensor()).isEqualTo(1);
        new Random(1);
    }

    @Test
    void statements_decodeTheirEncoding_andRejectAnyDeviation() {
        SigningKey key = TestKeys.key(SignatureScheme.ML_DSA_44);
        UpdateStatement s = new UpdateStatement(FEDERATION, 3, NONCE, tiny(0).digest(), new ClientId("c1"), key.keyId(),
                key.scheme(), tiny(1).digest(), 10);
        assertThat(UpdateStatement.decode(s.encode())).isEqualTo(s);
        byte[] e = s.encode();
        assertThatThrownBy(() -> UpdateStatement.decode(Arrays.copyOf(e, e.length - 1))).hasMessageContaining("truncated");
        assertThatThrownBy(() -> UpdateStatement.decode(Arrays.copyOf(e, e.length + 1))).hasMessageContaining("trailing");

        SigningKey c = ProtocolFixtures.coordinatorKey();
        ModelStatement m = new ModelStatement(FEDERATION, 2, tiny(3).digest(), tiny(0).digest(), LEDGER_HEAD,
                List.of(new ReceiptEntry(new ClientId("b"), tiny(2).digest(), 5), new ReceiptEntry(new ClientId("a"), tiny(1).digest(), 7)),
                c.scheme(), c.keyId());
        assertThat(ModelStatement.decode(m.encode()).encode()).isEqualTo(m.encode());
        assertThatThrownBy(() -> ModelStatement.decode(e)).hasMessageContaining("expected a pqfl.model-statement");
    }

    @Test
    void rejectReason_readFromATrailerByName_unknownOrMissingNamesAreEmpty() {
        assertThat(RejectReason.fromTrailer("NONCE_MISMATCH")).contains(RejectReason.NONCE_MISMATCH);
        assertThat(RejectReason.fromTrailer("A_REASON_FROM_A_NEWER_COORDINATOR")).isEmpty();
        assertThat(RejectReason.fromTrailer(null)).isEmpty();
        assertThat(Arrays.stream(RejectReason.values()).filter(RejectReason::retryLater))
                .containsExactlyInAnyOrder(RejectReason.BUSY, RejectReason.RATE_LIMITED);
    }
}
