package io.pqfl.coordinator.secagg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.secagg.FixedPoint;
import io.pqfl.crypto.secagg.SecAggKeys;
import io.pqfl.proto.v1.SecAggAdvertisement;
import io.pqfl.proto.v1.SecAggShares;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SecAggStatement;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's side of secure aggregation refuses tampered, forged, replayed and out-of-phase messages, each
 * with its reason, and a refused message changes nothing.
 */
class SecAggRoundTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final Map<ClientId, SigningKey> clients = new HashMap<>();
    private final List<Set<ClientId>> excused = new CopyOnWriteArrayList<>();
    private final RoundNonce nonce = RoundNonce.random(RANDOM);

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    private SecAggRound round(Duration phaseTimeout, String... ids) {
        for (String id : ids) {
            clients.put(new ClientId(id), Keys.generate(SignatureScheme.ML_DSA_44));
        }
        SigningKey coordinator = Keys.generate(SignatureScheme.ML_DSA_65);
        return new SecAggRound("fed", 3, nonce, List.of(ids).stream().map(ClientId::new).toList(),
                new SecAggSettings(0, 0, 1.0, 100, phaseTimeout), FixedPoint.forBound(1.0, 100, ids.length),
                SecAggRound.ClientNoise.NONE, 10,
                Signer.create(coordinator), this::keyOf, excused::add, timer);
    }

    private VerifyingKey keyOf(ClientId c) throws RefusedException {
        SigningKey k = clients.get(c);
        if (k == null) {
            throw new RefusedException(RejectReason.UNKNOWN_CLIENT, "unknown " + c);
        }
        return k.verifyingKey();
    }

    private SecAggAdvertisement advert(String id, long round, RoundNonce n) {
        SecAggKeys keys = SecAggKeys.generate(RANDOM);
        return signedAdvert(id, round, n, keys.kemPublicKey(), keys.x25519PublicKey());
    }

    private SecAggAdvertisement signedAdvert(String id, long round, RoundNonce n, byte[] kem, byte[] x25519) {
        SigningKey k = clients.get(new ClientId(id));
        io.pqfl.crypto.secagg.SealKeys seal = io.pqfl.crypto.secagg.SealKeys.generate(RANDOM);
        byte[] commitment = new byte[32];
        SecAggStatement s = new SecAggStatement("fed", round, n, new ClientId(id), SecAggStatement.Part.ADVERTISE,
                SecAggStatement.advertiseBody(kem, x25519, seal.kemPublicKey(), seal.x25519PublicKey(), commitment), k.scheme(),
                k.verifyingKey().keyId());
        return SecAggAdvertisement.newBuilder().setFederationId("fed").setRound(round).setNonce(ByteString.copyFrom(n.bytes()))
                .setClientId(id).setKemPublicKey(ByteString.copyFrom(kem))
                .setX25519PublicKey(ByteString.copyFrom(x25519))
                .setSealKemPublicKey(ByteString.copyFrom(seal.kemPublicKey()))
                .setSealX25519PublicKey(ByteString.copyFrom(seal.x25519PublicKey()))
                .setSelfMaskCommitment(ByteString.copyFrom(commitment))
                .setKeyId(k.verifyingKey().keyId().hex()).setScheme(k.scheme().displayName())
                .setSignature(ByteString.copyFrom(Signer.create(k).sign(s.encode()).bytes())).build();
    }

    private static RejectReason reasonOf(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        try {
            call.call();
        } catch (RefusedException e) {
            return e.reason();
        } catch (Throwable t) {
            throw new AssertionError("expected a refusal, got " + t, t);
        }
        throw new AssertionError("expected a refusal, nothing was thrown");
    }

    @Test
    void tamperedForgedReplayedAndMisaddressedAdvertisementsAreRefusedWithTheirReasons() throws Exception {
        SecAggRound r = round(Duration.ofSeconds(30), "a", "b", "c");
        ClientId a = new ClientId("a");
        SecAggAdvertisement good = advert("a", 3, nonce);
        // tampered: another KEM key under a's signature
        SecAggAdvertisement tampered = good.toBuilder().setKemPublicKey(ByteString.copyFrom(SecAggKeys.generate(RANDOM).kemPublicKey())).build();
        assertThat(reasonOf(() -> r.advertise(a, tampered))).isEqualTo(RejectReason.BAD_SIGNATURE);
        // forged: signed by b's key, claiming to be a's
        SecAggAdvertisement byB = advert("b", 3, nonce);
        SecAggAdvertisement forged = good.toBuilder().setSignature(byB.getSignature()).build();
        assertThat(reasonOf(() -> r.advertise(a, forged))).isEqualTo(RejectReason.BAD_SIGNATURE);
        // replayed from another round: its round, or its nonce, is not this round's
        assertThat(reasonOf(() -> r.advertise(a, advert("a", 2, nonce)))).isEqualTo(RejectReason.STALE_ROUND);
        assertThat(reasonOf(() -> r.advertise(a, advert("a", 3, RoundNonce.random(RANDOM))))).isEqualTo(RejectReason.NONCE_MISMATCH);
        // sent on another client's session
        assertThat(reasonOf(() -> r.advertise(new ClientId("b"), good))).isEqualTo(RejectReason.SESSION_MISMATCH);
        // a malformed key length is named, not crashed on
        SecAggAdvertisement shortKey = good.toBuilder().setX25519PublicKey(ByteString.copyFrom(new byte[7])).build();
        assertThat(reasonOf(() -> r.advertise(a, shortKey))).isEqualTo(RejectReason.SECAGG_INVALID);
        // keys that would crash every neighbour (an ML-KEM key failing the modulus check, a small-order X25519 key) are
        // refused here, even correctly signed
        byte[] badKem = new byte[SecAggKeys.KEM_PUBLIC_BYTES];
        java.util.Arrays.fill(badKem, (byte) 0xff);
        SecAggKeys fine = SecAggKeys.generate(RANDOM);
        assertThat(reasonOf(() -> r.advertise(a, signedAdvert("a", 3, nonce, badKem, fine.x25519PublicKey()))))
                .isEqualTo(RejectReason.SECAGG_INVALID);
        assertThat(reasonOf(() -> r.advertise(a, signedAdvert("a", 3, nonce, fine.kemPublicKey(), new byte[32]))))
                .isEqualTo(RejectReason.SECAGG_INVALID);
        // a claimed id with a line break is refused as another client's, never parsed or logged raw
        assertThat(reasonOf(() -> r.advertise(a, good.toBuilder().setClientId("a\nINFO forged").build())))
                .isEqualTo(RejectReason.SESSION_MISMATCH);
        // an out-of-phase message: shares before the advertisement phase closed
        assertThat(reasonOf(() -> r.share(a, SecAggShares.newBuilder().setFederationId("fed").setRound(3)
                .setNonce(ByteString.copyFrom(nonce.bytes())).setClientId("a").setKeyId(good.getKeyId())
                .setScheme(good.getScheme()).build()))).isEqualTo(RejectReason.SECAGG_PHASE);
        // none of the refusals counted: a's real advertisement is still accepted, once
        r.advertise(a, good);
        assertThat(reasonOf(() -> r.advertise(a, good))).isEqualTo(RejectReason.DUPLICATE);
    }

    @Test
    void aClientThatNeverAdvertises_isExcusedWhenThePhaseTimesOut_andTheOthersGetTheirSetup() throws Exception {
        SecAggRound r = round(Duration.ofMillis(300), "a", "b", "c", "d");
        for (String id : List.of("a", "b", "c")) {
            r.advertise(new ClientId(id), advert(id, 3, nonce));
        }
        long until = System.currentTimeMillis() + 5_000;
        while (excused.isEmpty() && System.currentTimeMillis() < until) {
            Thread.sleep(20);
        }
        assertThat(excused).containsExactly(Set.of(new ClientId("d")));
        var steps = new CopyOnWriteArrayList<io.pqfl.proto.v1.SecAggStep>();
        r.await(new ClientId("a"), io.pqfl.proto.v1.SecAggAwait.newBuilder().setRound(3)
                .setAfter(io.pqfl.proto.v1.SecAggPhase.ADVERTISE).setWaitMs(1000).build(), new io.grpc.stub.StreamObserver<>() {
                    public void onNext(io.pqfl.proto.v1.SecAggStep s) { steps.add(s); }
                    public void onError(Throwable t) { }
                    public void onCompleted() { }
                });
        assertThat(steps).hasSize(1);
        assertThat(steps.get(0).getSetup().getNeighboursList()).extracting(SecAggAdvertisement::getClientId)
                .containsExactly("b", "c");
        assertThat(steps.get(0).getSetup().getThreshold()).isEqualTo(2);
    }

    @Test
    void anUnmaskedSumOutsideWhatHonestInputsCanMake_isNotPublished() {
        FixedPoint fp = FixedPoint.forBound(1.0, 100, 3);
        float[][] g = {{0f, 0f}};
        long[] sum = new long[3];
        for (float[] t : new float[][] {{0.5f, -0.5f}, {1f, 0.25f}, {-1f, 1f}}) {
            long[] v = fp.encode(new float[][] {t}, g, 50);
            for (int i = 0; i < 3; i++) {
                sum[i] += v[i];
            }
        }
        io.pqfl.coordinator.aggregate.SecureAggregationChecks.checkSum(1, sum, 3, fp); // three honest inputs pass
        long[] lightWeight = sum.clone();
        lightWeight[2] = 2; // total weight below one per input: a client subtracted from the weight word
        assertThatThrownBy(() -> io.pqfl.coordinator.aggregate.SecureAggregationChecks.checkSum(1, lightWeight, 3, fp))
                .hasMessageContaining("total weight");
        long[] pushed = sum.clone();
        pushed[0] += 1L << 60; // a client pushed one coordinate far past the clipping range
        assertThatThrownBy(() -> io.pqfl.coordinator.aggregate.SecureAggregationChecks.checkSum(1, pushed, 3, fp))
                .hasMessageContaining("coordinate 0");
    }

    @Test
    void aClientKeepsOneWaiterPerPhase_anOlderWaitIsAnsweredPendingAtOnce() throws Exception {
        SecAggRound r = round(Duration.ofSeconds(30), "a", "b", "c");
        r.advertise(new ClientId("a"), advert("a", 3, nonce));
        var first = new CopyOnWriteArrayList<io.pqfl.proto.v1.SecAggStep>();
        var second = new CopyOnWriteArrayList<io.pqfl.proto.v1.SecAggStep>();
        io.pqfl.proto.v1.SecAggAwait wait = io.pqfl.proto.v1.SecAggAwait.newBuilder().setRound(3)
                .setAfter(io.pqfl.proto.v1.SecAggPhase.ADVERTISE).setWaitMs(20_000).build();
        r.await(new ClientId("a"), wait, collector(first));
        assertThat(first).isEmpty(); // the phase is open: it waits
        r.await(new ClientId("a"), wait, collector(second));
        assertThat(first).hasSize(1).allSatisfy(s -> assertThat(s.getPending()).isTrue()); // superseded, not leaked
        assertThat(second).isEmpty();
        r.advertise(new ClientId("b"), advert("b", 3, nonce));
        r.advertise(new ClientId("c"), advert("c", 3, nonce)); // everyone advertised: the phase closes
        assertThat(second).hasSize(1).allSatisfy(s -> assertThat(s.hasSetup()).isTrue());
        assertThat(first).hasSize(1);
    }

    private static io.grpc.stub.StreamObserver<io.pqfl.proto.v1.SecAggStep> collector(
            List<io.pqfl.proto.v1.SecAggStep> into) {
        return new io.grpc.stub.StreamObserver<>() {
            public void onNext(io.pqfl.proto.v1.SecAggStep s) {
                into.add(s);
            }

            public void onError(Throwable t) {
                throw new AssertionError(t);
            }

            public void onCompleted() {
            }
        };
    }
}
