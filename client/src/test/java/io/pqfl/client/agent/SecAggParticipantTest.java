package io.pqfl.client.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.proto.v1.SecAggAdvertisement;
import io.pqfl.proto.v1.SecAggSealedShare;
import io.pqfl.proto.v1.SecAggSetup;
import io.pqfl.proto.v1.SecAggShares;
import io.pqfl.proto.v1.SecAggUnmaskRequest;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SecAggStatement;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client never reveals both shares of one neighbour, and trusts only what the pinned coordinator signed: here the
 * coordinator is played by the test, with its real key, so it can also misbehave.
 */
class SecAggParticipantTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final RoundNonce nonce = RoundNonce.random(RANDOM);
    private final SigningKey coordinator = Keys.generate(SignatureScheme.ML_DSA_65);
    private final Map<String, SecAggParticipant> clients = new LinkedHashMap<>();
    private final Map<String, SecAggAdvertisement> adverts = new LinkedHashMap<>();
    private final Map<String, SecAggShares> shares = new LinkedHashMap<>();

    @BeforeEach
    void threeClientsShareKeys() throws Exception {
        for (String id : List.of("a", "b", "c")) {
            SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
            SecAggParticipant p = new SecAggParticipant("fed", 5, nonce, new ClientId(id), Signer.create(k),
                    coordinator.verifyingKey(), RANDOM);
            clients.put(id, p);
            adverts.put(id, p.advertisement().toBuilder().setPublicKey(ByteString.copyFrom(k.verifyingKey().encoded())).build());
        }
        for (String id : clients.keySet()) {
            shares.put(id, clients.get(id).shares(setupFor(id, coordinator)));
        }
    }

    private SecAggSetup setupFor(String id, SigningKey signer) {
        return setupFor(id, signer, 2);
    }

    private SecAggSetup setupFor(String id, SigningKey signer, int threshold) {
        List<SecAggStatement.Neighbour> listed = new ArrayList<>();
        SecAggSetup.Builder b = SecAggSetup.newBuilder().setThreshold(threshold).setClip(1.0).setFractionBits(30).setWeightCap(100);
        for (var e : adverts.entrySet()) {
            if (e.getKey().equals(id)) {
                continue;
            }
            SecAggAdvertisement ad = e.getValue();
            SecAggStatement s = new SecAggStatement("fed", 5, nonce, new ClientId(ad.getClientId()), SecAggStatement.Part.ADVERTISE,
                    SecAggStatement.advertiseBody(ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray(),
                            ad.getSealKemPublicKey().toByteArray(), ad.getSealX25519PublicKey().toByteArray(),
                            ad.getSelfMaskCommitment().toByteArray()), SignatureScheme.parse(ad.getScheme()),
                    new io.pqfl.crypto.KeyId(ad.getKeyId()));
            listed.add(new SecAggStatement.Neighbour(new ClientId(ad.getClientId()), s.keyId(), PayloadDigest.of(s.encode())));
            b.addNeighbours(ad);
        }
        SecAggStatement s = new SecAggStatement("fed", 5, nonce, new ClientId(id), SecAggStatement.Part.SETUP,
                SecAggStatement.setupBody(threshold, 1.0, 30, 100, 0, 0, listed), signer.scheme(), signer.verifyingKey().keyId());
        return b.setCoordinatorSignature(ByteString.copyFrom(Signer.create(signer).sign(s.encode()).bytes())).build();
    }

    private List<SecAggSealedShare> inboxOf(String id) {
        List<SecAggSealedShare> in = new ArrayList<>();
        shares.values().forEach(s -> s.getSharesList().stream().filter(x -> x.getTo().equals(id)).forEach(in::add));
        return in;
    }

    private SecAggUnmaskRequest request(String to, List<String> survivors, List<String> dropped, SigningKey signer) {
        SecAggStatement s = new SecAggStatement("fed", 5, nonce, new ClientId(to), SecAggStatement.Part.UNMASK_REQUEST,
                SecAggStatement.unmaskRequestBody(survivors.stream().map(ClientId::new).toList(),
                        dropped.stream().map(ClientId::new).toList()), signer.scheme(), signer.verifyingKey().keyId());
        return SecAggUnmaskRequest.newBuilder().addAllSurvivors(survivors).addAllDropped(dropped)
                .setCoordinatorSignature(ByteString.copyFrom(Signer.create(signer).sign(s.encode()).bytes())).build();
    }

    @Test
    void aCoordinatorAskingForBothSharesOfOneClient_getsNeither() throws Exception {
        SecAggParticipant a = clients.get("a");
        a.maskedInput(inboxOf("a"), new float[][] {{0.5f}}, new float[][] {{0f}}, 10);
        // in one request: b as a survivor (self mask) and as dropped (pairwise seed)
        assertThatThrownBy(() -> a.reveal(request("a", List.of("b", "c"), List.of("b"), coordinator)))
                .isInstanceOf(SecAggParticipant.Refused.class).hasMessageContaining("both shares of b");
        // across two requests: the first is answered, the second (which would complete the pair) is refused whole
        var first = a.reveal(request("a", List.of("b"), List.of("c"), coordinator));
        assertThat(first.getSharesList()).extracting(s -> s.getOwner() + (s.getSelfMask() ? "/self" : "/pair"))
                .containsExactlyInAnyOrder("b/self", "c/pair");
        assertThatThrownBy(() -> a.reveal(request("a", List.of("c"), List.of("b"), coordinator)))
                .isInstanceOf(SecAggParticipant.Refused.class).hasMessageContaining("already answered");
    }

    @Test
    void requestsAndSetupsNotSignedByThePinnedCoordinator_areRefused() throws Exception {
        SigningKey impostor = Keys.generate(SignatureScheme.ML_DSA_65);
        SecAggParticipant a = clients.get("a");
        assertThatThrownBy(() -> a.shares(setupFor("a", impostor))).isInstanceOf(SecAggParticipant.Refused.class)
                .hasMessageContaining("the coordinator's setup does not verify");
        a.maskedInput(inboxOf("a"), new float[][] {{0.5f}}, new float[][] {{0f}}, 10);
        assertThatThrownBy(() -> a.reveal(request("a", List.of("b", "c"), List.of(), impostor)))
                .isInstanceOf(SecAggParticipant.Refused.class).hasMessageContaining("unmask request does not verify");
        // a swapped neighbour key in the setup: the advertisement no longer verifies with the forwarded key
        SigningKey other = Keys.generate(SignatureScheme.ML_DSA_44);
        adverts.put("b", adverts.get("b").toBuilder().setPublicKey(ByteString.copyFrom(other.verifyingKey().encoded()))
                .setKeyId(other.verifyingKey().keyId().hex()).build());
        assertThatThrownBy(() -> clients.get("c").shares(setupFor("c", coordinator)))
                .isInstanceOf(SecAggParticipant.Refused.class).hasMessageContaining("neighbour b's advertisement does not verify");
    }

    @Test
    void aShareAlteredOnTheWay_isRefusedBeforeAnythingIsMasked() {
        List<SecAggSealedShare> inbox = new ArrayList<>(inboxOf("a"));
        SecAggSealedShare s = inbox.get(0);
        byte[] sealed = s.getSealed().toByteArray();
        sealed[3] ^= 1;
        inbox.set(0, s.toBuilder().setSealed(ByteString.copyFrom(sealed)).build());
        assertThatThrownBy(() -> clients.get("a").maskedInput(inbox, new float[][] {{0.5f}}, new float[][] {{0f}}, 10))
                .isInstanceOf(SecAggParticipant.Refused.class).hasMessageContaining("does not verify");
    }

    @Test
    void aThresholdOfHalfTheNeighboursOrLess_isRefused_soNoCoordinatorCanSplitTheSharesAcrossClients() throws Exception {
        SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
        SecAggParticipant d = new SecAggParticipant("fed", 5, nonce, new ClientId("d"), Signer.create(k),
                coordinator.verifyingKey(), RANDOM);
        // d's neighbours are a, b and c (all advertised): threshold 1 of 3 is refused; so would be any t with 2t <= 3
        assertThatThrownBy(() -> d.shares(setupFor("d", coordinator, 1))).isInstanceOf(SecAggParticipant.Refused.class)
                .hasMessageContaining("more than half");
        assertThat(d.shares(setupFor("d", coordinator, 2)).getSharesCount()).isEqualTo(3);
        assertThatThrownBy(() -> d.shares(setupFor("d", coordinator, 2))).isInstanceOf(SecAggParticipant.Refused.class)
                .hasMessageContaining("seals them once");
    }

    @Test
    void aNeighbourWithUnusableKeys_isRefusedWithItsName_notACrash() throws Exception {
        // b signs an advertisement whose X25519 key is of small order: every neighbour's agreement with it would fail
        SigningKey bKey = Keys.generate(SignatureScheme.ML_DSA_44);
        SecAggAdvertisement good = adverts.get("b");
        SecAggStatement s = new SecAggStatement("fed", 5, nonce, new ClientId("b"), SecAggStatement.Part.ADVERTISE,
                SecAggStatement.advertiseBody(good.getKemPublicKey().toByteArray(), new byte[32],
                        good.getSealKemPublicKey().toByteArray(), good.getSealX25519PublicKey().toByteArray(),
                        good.getSelfMaskCommitment().toByteArray()), bKey.scheme(), bKey.verifyingKey().keyId());
        adverts.put("b", good.toBuilder().setX25519PublicKey(ByteString.copyFrom(new byte[32]))
                .setPublicKey(ByteString.copyFrom(bKey.verifyingKey().encoded())).setKeyId(bKey.verifyingKey().keyId().hex())
                .setSignature(ByteString.copyFrom(Signer.create(bKey).sign(s.encode()).bytes())).build());
        SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
        SecAggParticipant d = new SecAggParticipant("fed", 5, nonce, new ClientId("d"), Signer.create(k),
                coordinator.verifyingKey(), RANDOM);
        assertThatThrownBy(() -> d.shares(setupFor("d", coordinator))).isInstanceOf(SecAggParticipant.Refused.class)
                .hasMessageContaining("neighbour b's keys are unusable");
    }
}
