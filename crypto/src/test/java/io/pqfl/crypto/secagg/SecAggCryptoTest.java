package io.pqfl.crypto.secagg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SecAggCryptoTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] CONTEXT = "federation|round 3|nonce".getBytes(StandardCharsets.UTF_8);

    @Test
    void bothEndsOfAPairDeriveTheSameMaskSeedAndOthersDoNot() {
        SecAggKeys a = SecAggKeys.generate(RANDOM);
        SecAggKeys b = SecAggKeys.generate(RANDOM);
        SecAggKeys c = SecAggKeys.generate(RANDOM);
        byte[] ctAB = a.encapsulateTo(CONTEXT, "alice", "bob", b.kemPublicKey()).ciphertext();
        byte[] ctBA = b.encapsulateTo(CONTEXT, "bob", "alice", a.kemPublicKey()).ciphertext();
        byte[] atA = a.pairSeed(CONTEXT, "alice", "bob", b.kemPublicKey(), b.x25519PublicKey(), ctBA);
        byte[] atB = b.pairSeed(CONTEXT, "bob", "alice", a.kemPublicKey(), a.x25519PublicKey(), ctAB);
        assertThat(atA).hasSize(32).isEqualTo(atB);
        // a third party holding its own keys and both ciphertexts gets something else
        byte[] atC = c.pairSeed(CONTEXT, "carol", "bob", b.kemPublicKey(), b.x25519PublicKey(), ctBA);
        assertThat(atC).isNotEqualTo(atA);
        // another round's context gives another seed
        byte[] other = "federation|round 4|nonce".getBytes(StandardCharsets.UTF_8);
        byte[] ctBA4 = b.encapsulateTo(other, "bob", "alice", a.kemPublicKey()).ciphertext();
        assertThat(a.pairSeed(other, "alice", "bob", b.kemPublicKey(), b.x25519PublicKey(), ctBA4)).isNotEqualTo(atA);
    }

    @Test
    void aSeedReconstructedFromThresholdSharesRedoesTheDroppedClientsSide() {
        SecAggKeys dropped = SecAggKeys.generate(RANDOM);
        SecAggKeys alive = SecAggKeys.generate(RANDOM);
        byte[] ctToDropped = alive.encapsulateTo(CONTEXT, "zed", "dan", dropped.kemPublicKey()).ciphertext();
        byte[] ctToAlive = dropped.encapsulateTo(CONTEXT, "dan", "zed", alive.kemPublicKey()).ciphertext();
        byte[] seenByAlive = alive.pairSeed(CONTEXT, "zed", "dan", dropped.kemPublicKey(), dropped.x25519PublicKey(), ctToAlive);

        byte[][] shares = Shamir.split(dropped.seed(), 3, 5, RANDOM);
        byte[] rebuilt = Shamir.combine(Map.of(5, shares[4], 2, shares[1], 4, shares[3]));
        SecAggKeys again = SecAggKeys.fromSeed(rebuilt);
        assertThat(again.matches(dropped.kemPublicKey(), dropped.x25519PublicKey())).isTrue();
        assertThat(again.encapsulateTo(CONTEXT, "dan", "zed", alive.kemPublicKey()).ciphertext()).isEqualTo(ctToAlive);
        assertThat(again.pairSeed(CONTEXT, "dan", "zed", alive.kemPublicKey(), alive.x25519PublicKey(), ctToDropped))
                .isEqualTo(seenByAlive);

        byte[] fromTwo = Shamir.combine(Map.of(1, shares[0], 3, shares[2]));
        assertThat(fromTwo).isNotEqualTo(dropped.seed());
        assertThat(SecAggKeys.fromSeed(fromTwo).matches(dropped.kemPublicKey(), dropped.x25519PublicKey())).isFalse();
    }

    @Test
    void pairwiseMasksCancelInTheSumAndSelfMasksComeOffWithTheirSeeds() {
        int n = 10_001;
        byte[] pair = new byte[32];
        RANDOM.nextBytes(pair);
        byte[] selfA = new byte[32];
        byte[] selfB = new byte[32];
        RANDOM.nextBytes(selfA);
        RANDOM.nextBytes(selfB);
        long[] x = new long[n];
        long[] y = new long[n];
        Random r = new Random(7);
        for (int i = 0; i < n; i++) {
            x[i] = r.nextInt(1000) - 500;
            y[i] = r.nextInt(1000) - 500;
        }
        long[] maskedX = x.clone();
        long[] maskedY = y.clone();
        Masks.apply(maskedX, selfA, 1);
        Masks.apply(maskedX, pair, Masks.pairSign("a", "b"));
        Masks.apply(maskedY, selfB, 1);
        Masks.apply(maskedY, pair, Masks.pairSign("b", "a"));
        assertThat(maskedX).isNotEqualTo(x);
        long[] sum = new long[n];
        for (int i = 0; i < n; i++) {
            sum[i] = maskedX[i] + maskedY[i];
        }
        Masks.apply(sum, selfA, -1);
        Masks.apply(sum, selfB, -1);
        for (int i = 0; i < n; i++) {
            assertThat(sum[i]).isEqualTo(x[i] + y[i]);
        }
        assertThat(Masks.fromBytes(Masks.toBytes(maskedX))).isEqualTo(maskedX);
    }

    @Test
    void aSealedShareOpensOnlyForItsRecipientAndRound() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        byte[] aad = "round 3 alice->bob".getBytes(StandardCharsets.UTF_8);
        byte[] sealed = ShareSeal.seal(key, aad, "shares".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(ShareSeal.open(key, aad, sealed), StandardCharsets.UTF_8)).isEqualTo("shares");
        assertThatThrownBy(() -> ShareSeal.open(key, "round 4 alice->bob".getBytes(StandardCharsets.UTF_8), sealed))
                .hasMessageContaining("does not open");
        byte[] flipped = sealed.clone();
        flipped[0] ^= 1;
        assertThatThrownBy(() -> ShareSeal.open(key, aad, flipped)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fixedPointSumOfClientsDecodesToTheirWeightedMeanWithinTheRoundingBound() {
        FixedPoint fp = FixedPoint.forBound(1.0, 1000, 100);
        float[][] global = {{0.5f, -0.25f, 3f}};
        float[][] a = {{0.6f, -0.35f, 3.01f}};
        float[][] b = {{0.2f, 0.25f, 5f}}; // the last coordinate moves 2.0: clipped to 1.0
        long[] va = fp.encode(a, global, fp.weightOf(300));
        long[] vb = fp.encode(b, global, fp.weightOf(5000)); // capped at 1000
        long[] sum = new long[va.length];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = va[i] + vb[i];
        }
        float[][] mean = fp.decodeMean(sum, global);
        double tolerance = Math.scalb(1.0, -fp.fractionBits()) + 1e-6;
        assertThat((double) mean[0][0]).isCloseTo((0.1 * 300 + -0.3 * 1000) / 1300, org.assertj.core.data.Offset.offset(tolerance));
        assertThat((double) mean[0][1]).isCloseTo((-0.1 * 300 + 0.5 * 1000) / 1300, org.assertj.core.data.Offset.offset(tolerance));
        assertThat((double) mean[0][2]).isCloseTo((0.01 * 300 + 1.0 * 1000) / 1300, org.assertj.core.data.Offset.offset(tolerance));
        assertThat(fp.clippedCount(b, global)).isEqualTo(1);
        assertThat(sum[sum.length - 1]).isEqualTo(1300);
    }

    @Test
    void theFractionBitsKeepTheWorstCaseSumInsideSixtyThreeBits() {
        FixedPoint fp = FixedPoint.forBound(4.0, 65_536, 10_000);
        double worst = 10_000d * 65_536 * 4.0 * Math.scalb(1.0, fp.fractionBits());
        assertThat(worst).isLessThanOrEqualTo(Math.scalb(1.0, 62));
        assertThat(worst * 2).isGreaterThan(Math.scalb(1.0, 62)); // the largest such f
        // every client at +clip with the largest weight: the sum is still exact
        float[][] g = {{0f}};
        float[][] up = {{100f}};
        long total = 0;
        for (int i = 0; i < 10_000; i++) {
            total += fp.encode(up, g, 65_536)[0];
        }
        assertThat(total).isPositive();
        assertThatThrownBy(() -> FixedPoint.forBound(1e9, 1L << 40, 1_000_000)).hasMessageContaining("cannot encode");
    }

    @Test
    void sharesSealedForANeighbour_doNotOpenWithItsRebuiltPairwiseSeed() {
        // The coordinator rebuilds a dropped client's pairwise seed: that must not open the shares sealed for it.
        SecAggKeys droppedMask = SecAggKeys.generate(RANDOM);
        SealKeys droppedSeal = SealKeys.generate(RANDOM);
        SealKeys sender = SealKeys.generate(RANDOM);
        byte[] aad = "aad".getBytes(StandardCharsets.UTF_8);
        SealKeys.Sealed s = sender.seal(CONTEXT, "u", "d", droppedSeal.kemPublicKey(), droppedSeal.x25519PublicKey(), aad,
                "b-share|m-share".getBytes(StandardCharsets.UTF_8), RANDOM);
        assertThat(new String(droppedSeal.open(CONTEXT, "u", "d", sender.x25519PublicKey(), s.ciphertext(), aad, s.sealed()),
                StandardCharsets.UTF_8)).isEqualTo("b-share|m-share");
        SecAggKeys rebuilt = SecAggKeys.fromSeed(droppedMask.seed());
        // what the rebuilt seed gives: the dropped client's mask keys, not its sealing keys
        assertThat(rebuilt.kemPublicKey()).isNotEqualTo(droppedSeal.kemPublicKey());
        assertThatThrownBy(() -> SealKeys.generate(RANDOM).open(CONTEXT, "u", "d", sender.x25519PublicKey(), s.ciphertext(),
                aad, s.sealed())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unusablePublicKeysAreRefusedByName() {
        SecAggKeys k = SecAggKeys.generate(RANDOM);
        byte[] badKem = new byte[SecAggKeys.KEM_PUBLIC_BYTES];
        Arrays.fill(badKem, (byte) 0xff);
        assertThatThrownBy(() -> SecAggKeys.checkPublicKeys(badKem, k.x25519PublicKey())).hasMessageContaining("modulus");
        assertThatThrownBy(() -> SecAggKeys.checkPublicKeys(k.kemPublicKey(), new byte[32])).hasMessageContaining("small order");
        SecAggKeys.checkPublicKeys(k.kemPublicKey(), k.x25519PublicKey());
    }

    @Test
    void keysAreAFunctionOfTheSeedOnly() {
        byte[] seed = new byte[32];
        Arrays.fill(seed, (byte) 9);
        SecAggKeys a = SecAggKeys.fromSeed(seed);
        SecAggKeys b = SecAggKeys.fromSeed(seed);
        assertThat(a.kemPublicKey()).hasSize(SecAggKeys.KEM_PUBLIC_BYTES).isEqualTo(b.kemPublicKey());
        assertThat(a.x25519PublicKey()).hasSize(32).isEqualTo(b.x25519PublicKey());
        assertThatThrownBy(() -> SecAggKeys.fromSeed(new byte[31])).hasMessageContaining("32 bytes");
    }
}
