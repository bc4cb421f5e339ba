package io.pqfl.crypto;

import static io.pqfl.crypto.testing.TestKeys.MESSAGE;
import static io.pqfl.crypto.testing.TestKeys.flip;
import static io.pqfl.crypto.testing.TestKeys.key;
import static io.pqfl.crypto.testing.TestKeys.otherKey;
import static io.pqfl.crypto.testing.TestKeys.signature;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.Stream;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every scheme: the round trip works and each kind of tampering is rejected with its own exception. */
class SignVerifyTest {
    private static void verify(VerifyingKey key, byte[] message, SignatureValue signature) throws Exception {
        Verifier.create(key).verify(message, signature);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void signThenVerify_roundTrip(SignatureScheme scheme) {
        SigningKey k = key(scheme);
        assertThat(k.scheme()).isEqualTo(scheme);
        assertThatCode(() -> verify(k.verifyingKey(), MESSAGE, signature(scheme))).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void sizes_equalTheSpecification(SignatureScheme scheme) {
        assertThat(key(scheme).verifyingKey().raw()).hasSize(scheme.publicKeySize());
        int length = signature(scheme).length();
        if (scheme.family().hasFixedSignatureSize()) {
            assertThat(length).isEqualTo(scheme.signatureSize());
        } else {
            assertThat(length).isBetween(8, scheme.signatureSize());
        }
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_flippedMessageByte_throwsMismatch(SignatureScheme scheme) {
        assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), flip(MESSAGE, 3), signature(scheme)))
                .isInstanceOf(SignatureMismatchException.class);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_flippedSignatureByte_isRejected(SignatureScheme scheme) {
        byte[] sig = signature(scheme).bytes();
        SignatureValue tampered = SignatureValue.of(scheme, flip(sig, sig.length / 2));
        assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), MESSAGE, tampered))
                .isInstanceOfAny(SignatureMismatchException.class, MalformedSignatureException.class);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_flippedPublicKeyByte_isRejected(SignatureScheme scheme) {
        byte[] raw = key(scheme).verifyingKey().raw();
        byte[] bad = flip(raw, raw.length / 2);
        if (scheme.isPostQuantum()) {
            assertThatThrownBy(() -> verify(VerifyingKey.fromRaw(scheme, bad), MESSAGE, signature(scheme)))
                    .isInstanceOf(SignatureMismatchException.class);
        } else {
            // A flipped curve point is usually not on the curve any more: the key itself is refused.
            assertThatThrownBy(() -> verify(VerifyingKey.fromRaw(scheme, bad), MESSAGE, signature(scheme)))
                    .isInstanceOfAny(SignatureMismatchException.class, KeyFormatException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_truncatedSignature_isRejected(SignatureScheme scheme) {
        byte[] sig = signature(scheme).bytes();
        SignatureValue truncated = SignatureValue.of(scheme, Arrays.copyOf(sig, sig.length - 1));
        var assertion = assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), MESSAGE, truncated));
        if (scheme.family().hasFixedSignatureSize()) {
            assertion.isInstanceOf(MalformedSignatureException.class).hasMessageContaining("got " + (sig.length - 1));
        } else {
            assertion.isInstanceOfAny(MalformedSignatureException.class, SignatureMismatchException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_emptySignature_throwsMalformed(SignatureScheme scheme) {
        assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), MESSAGE, SignatureValue.of(scheme, new byte[0])))
                .isInstanceOf(MalformedSignatureException.class);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_extendedSignature_isRejected(SignatureScheme scheme) {
        byte[] sig = signature(scheme).bytes();
        SignatureValue extended = SignatureValue.of(scheme, Arrays.copyOf(sig, sig.length + 1));
        var assertion = assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), MESSAGE, extended));
        if (scheme.family().hasFixedSignatureSize()) {
            assertion.isInstanceOf(MalformedSignatureException.class);
        } else {
            assertion.isInstanceOfAny(MalformedSignatureException.class, SignatureMismatchException.class);
        }
        SignatureValue oversized = SignatureValue.of(scheme, new byte[scheme.signatureSize() + 1]);
        assertThatThrownBy(() -> verify(key(scheme).verifyingKey(), MESSAGE, oversized))
                .isInstanceOf(MalformedSignatureException.class);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void verify_wrongKeySameScheme_throwsMismatch(SignatureScheme scheme) {
        assertThatThrownBy(() -> verify(otherKey(scheme).verifyingKey(), MESSAGE, signature(scheme)))
                .isInstanceOf(SignatureMismatchException.class);
    }

    static Stream<SignatureScheme[]> schemePairs() {
        SignatureScheme[] all = SignatureScheme.values();
        return Arrays.stream(all).map(s -> new SignatureScheme[] {s, all[(s.ordinal() + 1) % all.length]});
    }

    @ParameterizedTest
    @MethodSource("schemePairs")
    void verify_keyOfAnotherScheme_throwsSchemeMismatch(SignatureScheme signedWith, SignatureScheme keyScheme) {
        assertThatThrownBy(() -> verify(key(keyScheme).verifyingKey(), MESSAGE, signature(signedWith)))
                .isInstanceOfSatisfying(SchemeMismatchException.class, e -> {
                    assertThat(e.expected()).isEqualTo(keyScheme);
                    assertThat(e.actual()).isEqualTo(signedWith);
                });
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {".*_128S", ".*_192S", ".*_256S"},
            mode = EnumSource.Mode.MATCH_NONE)
    void sign_isDeterministicExactlyWhenTheSchemeSaysSo(SignatureScheme scheme) {
        // The slow SLH-DSA "s" sets are left out here only for time; they share the "f" sets' code path.
        Signer signer = Signer.create(key(scheme));
        boolean same = Arrays.equals(signer.sign(MESSAGE).bytes(), signer.sign(MESSAGE).bytes());
        assertThat(same).isEqualTo(scheme.isDeterministic());
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void keys_toStringShowsSchemeAndIdButNoBytes(SignatureScheme scheme) {
        SigningKey k = key(scheme);
        assertThat(k.toString()).contains(scheme.displayName()).contains(k.keyId().hex()).hasSizeLessThan(120);
        assertThat(k.verifyingKey().toString()).contains(k.keyId().hex()).hasSizeLessThan(120);
    }

    @ParameterizedTest
    @EnumSource(SignatureScheme.class)
    void fromRaw_wrongSize_throwsKeyFormat(SignatureScheme scheme) {
        byte[] raw = key(scheme).verifyingKey().raw();
        assertThatThrownBy(() -> VerifyingKey.fromRaw(scheme, Arrays.copyOf(raw, raw.length - 1)))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining(scheme.publicKeySize() + " bytes");
    }

    @ParameterizedTest
    @EnumSource(value = SignatureScheme.class, names = {"ML_DSA_44", "ED25519"})
    void fromEncoded_keyBitStringWithUnusedBits_throwsKeyFormat(SignatureScheme scheme) throws Exception {
        SubjectPublicKeyInfo info = SubjectPublicKeyInfo.getInstance(key(scheme).verifyingKey().encoded());
        byte[] encoded = new SubjectPublicKeyInfo(info.getAlgorithm(), new DERBitString(key(scheme).verifyingKey().raw(), 1))
                .getEncoded("DER");
        assertThatThrownBy(() -> VerifyingKey.fromEncoded(encoded))
                .isInstanceOf(KeyFormatException.class)
                .hasMessageContaining("not whole bytes");
    }
}
