package io.pqfl.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.WrongPasswordException;
import io.pqfl.crypto.pki.CertificateRejectedException;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.PkiException;
import io.pqfl.proto.v1.ModelSignature;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing (Jazzer) of every decoder in proto and crypto that reads bytes from the network
 * or disk. Each decoder may refuse its input only with its documented exception; anything else (a
 * NullPointerException, an IndexOutOfBoundsException, an OutOfMemoryError...) is a finding. A decoded
 * statement must re-encode to exactly the bytes it came from (one statement, one encoding).
 */
class DecoderFuzzTest {
    @FuzzTest(maxDuration = "10s")
    void decoders(FuzzedDataProvider data) {
        int which = data.consumeInt(0, 13);
        byte[] input = data.consumeRemainingAsBytes();
        switch (which) {
            case 0 -> {
                try {
                    assertThat(UpdateStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
            }
            case 1 -> {
                try {
                    assertThat(ModelStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
            }
            case 2 -> {
                try {
                    KeyPem.decode(new String(input, StandardCharsets.ISO_8859_1), "pw".toCharArray());
                } catch (KeyFormatException | WrongPasswordException refused) {
                    // a corrupt PEM or a key it cannot decrypt
                }
            }
            case 3 -> {
                try {
                    WireMapping.fromWire(ModelSignature.parseFrom(input));
                } catch (InvalidProtocolBufferException | IllegalArgumentException refused) {
                    // not a model signature message, or one with invalid fields
                }
            }
            case 10 -> {
                // An update's header as the coordinator receives it: decoded once, it re-encodes to the same claims.
                try {
                    UpdateHeader header = WireMapping.fromWire(io.pqfl.proto.v1.UpdateHeader.parseFrom(input));
                    assertThat(WireMapping.fromWire(WireMapping.toWire(header))).isEqualTo(header);
                } catch (InvalidProtocolBufferException | IllegalArgumentException refused) {
                    // not a header, or a header with invalid fields (MALFORMED)
                }
            }
            case 8 -> {
                try {
                    assertThat(SessionStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
            }
            case 9 -> {
                try {
                    assertThat(TaskStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
            }
            case 11 -> {
                try {
                    assertThat(EvaluationStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
                // An evaluation report as the coordinator receives it.
                try {
                    var report = io.pqfl.proto.v1.EvaluationReport.parseFrom(input);
                    WireMapping.evaluationStatement(report, new io.pqfl.crypto.KeyId("00112233445566778899aabbccddeeff"),
                            io.pqfl.crypto.SignatureScheme.ML_DSA_44);
                } catch (InvalidProtocolBufferException | IllegalArgumentException refused) {
                    // not a report, or one with invalid fields
                }
            }
            case 13 -> {
                try {
                    assertThat(PartialAggregateStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
                // An aggregator's partial aggregate as the parent receives it in an update trailer.
                try {
                    WireMapping.fromWire(io.pqfl.proto.v1.PartialAggregate.parseFrom(input));
                } catch (InvalidProtocolBufferException | IllegalArgumentException refused) {
                    // not a partial aggregate, or one with invalid fields
                }
            }
            case 5 -> {
                try {
                    assertThat(EnrollmentStatement.decode(input).encode()).isEqualTo(input);
                } catch (IllegalArgumentException refused) {
                    // a malformed statement
                }
            }
            case 6 -> {
                // A certificate as a Hello carries it (DER from the network).
                try {
                    Certificates.parse(input);
                } catch (CertificateRejectedException refused) {
                    // not a certificate
                }
            }
            case 7 -> {
                // Certificate and CRL files (PEM from disk).
                String text = new String(input, StandardCharsets.ISO_8859_1);
                try {
                    Certificates.parseAll(text, "fuzz.crt");
                } catch (PkiException refused) {
                    // not a certificate file
                }
                try {
                    Certificates.parseCrl(text, "fuzz.crl");
                } catch (PkiException refused) {
                    // not a CRL file
                }
            }
            default -> {
                // A manifest from the wire, then model chunks for it: the upload path's decoding.
                try {
                    int split = input.length == 0 ? 0 : Math.min(input.length, (input[0] & 0xff) + 1);
                    ModelManifest manifest = WireMapping.fromWire(io.pqfl.proto.v1.ModelManifest.parseFrom(
                            Arrays.copyOfRange(input, 0, split)));
                    if (manifest.totalBytes() > (1 << 20)) {
                        return; // the coordinator refuses such a size before reading (TOO_LARGE)
                    }
                    WeightsReceiver receiver = new WeightsReceiver(manifest);
                    receiver.accept(ByteBuffer.wrap(input, split, input.length - split));
                    if (receiver.isComplete()) {
                        assertThat(receiver.weights().digest()).isEqualTo(receiver.digest());
                    }
                } catch (InvalidProtocolBufferException | IllegalArgumentException | WeightsReceiver.OverflowException refused) {
                    // refused input
                }
            }
        }
    }
}
