package io.pqfl.client.agent;

import com.google.protobuf.ByteString;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.secagg.FixedPoint;
import io.pqfl.crypto.secagg.Masks;
import io.pqfl.crypto.secagg.SealKeys;
import io.pqfl.crypto.secagg.SecAggKeys;
import io.pqfl.crypto.secagg.Shamir;
import io.pqfl.proto.v1.SecAggAdvertisement;
import io.pqfl.proto.v1.SecAggMaskedInput;
import io.pqfl.proto.v1.SecAggReveal;
import io.pqfl.proto.v1.SecAggRevealedShare;
import io.pqfl.proto.v1.SecAggSealedShare;
import io.pqfl.proto.v1.SecAggSetup;
import io.pqfl.proto.v1.SecAggShares;
import io.pqfl.proto.v1.SecAggUnmaskRequest;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SecAggStatement;
import io.pqfl.protocol.SecAggStatement.Part;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A client's side of one round of secure aggregation (docs/PRIVACY.md), without the network: it makes the signed
 * messages and checks the coordinator's. Its secrets (the pairwise seed, the self-mask seed, the shares it holds for
 * its neighbours) live only in this object, for one round.
 *
 * <p>What it refuses, each with a {@link Refused} that names why: a setup or unmask request not signed by the pinned
 * coordinator key, a neighbour advertisement not signed by the neighbour's key, a share that does not verify or open,
 * and an unmask request that asks, for any neighbour, for both its self-mask share and its pairwise-seed share (in one
 * request, or across two: it answers one request per round). Refusing such a request reveals nothing at all.
 */
final class SecAggParticipant {
    /** The coordinator asked for something an honest client does not do; nothing was revealed. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private record Held(int index, byte[] selfShare, byte[] pairShare) {
    }

    private record Peer(ClientId id, byte[] kem, byte[] x25519, byte[] sealKem, byte[] sealX25519, VerifyingKey key) {
    }

    private final String federationId;
    private final long round;
    private final RoundNonce nonce;
    private final byte[] context;
    private final ClientId self;
    private final Signer signer;
    private final VerifyingKey coordinatorKey;
    private final SecureRandom random;
    private final SecAggKeys keys;
    private final SealKeys seal;
    private final byte[] selfMask = new byte[32];
    private boolean shared;
    /** Neighbours whose sealed shares did not open or match their signed digests: masked with, but holding no share. */
    private final List<String> unopened = new ArrayList<>();
    private Map<ClientId, Peer> neighbours;
    private List<ClientId> order;
    private FixedPoint encoding;
    private int threshold;
    private double dpClip;
    private double dpNoiseStd;
    private final Map<ClientId, Held> held = new LinkedHashMap<>();
    private boolean revealed;

    SecAggParticipant(String federationId, long round, RoundNonce nonce, ClientId self, Signer signer,
                      VerifyingKey coordinatorKey, SecureRandom random) {
        this.federationId = federationId;
        this.round = round;
        this.nonce = nonce;
        this.context = SecAggStatement.context(federationId, round, nonce);
        this.self = self;
        this.signer = signer;
        this.coordinatorKey = coordinatorKey;
        this.random = random;
        this.keys = SecAggKeys.generate(random);
        this.seal = SealKeys.generate(random);
        random.nextBytes(selfMask);
    }

    /** Phase 1: this client's keys for the round, signed. */
    SecAggAdvertisement advertisement() {
        byte[] commitment = SecAggKeys.commitSelfMask(context, self.value(), selfMask);
        SecAggStatement s = statement(Part.ADVERTISE, SecAggStatement.advertiseBody(keys.kemPublicKey(), keys.x25519PublicKey(),
                seal.kemPublicKey(), seal.x25519PublicKey(), commitment));
        return SecAggAdvertisement.newBuilder().setFederationId(federationId).setRound(round)
                .setNonce(ByteString.copyFrom(nonce.bytes())).setClientId(self.value())
                .setKemPublicKey(ByteString.copyFrom(keys.kemPublicKey()))
                .setX25519PublicKey(ByteString.copyFrom(keys.x25519PublicKey()))
                .setSealKemPublicKey(ByteString.copyFrom(seal.kemPublicKey()))
                .setSealX25519PublicKey(ByteString.copyFrom(seal.x25519PublicKey()))
                .setSelfMaskCommitment(ByteString.copyFrom(commitment)).setKeyId(signer.keyId().hex())
                .setScheme(signer.scheme().displayName()).setSignature(ByteString.copyFrom(s.sign(signer).bytes())).build();
    }

    /** Phase 2: checks the coordinator's setup and every neighbour's advertisement, and seals shares for each. */
    SecAggShares shares(SecAggSetup setup) throws Refused {
        List<SecAggStatement.Neighbour> listed = new ArrayList<>();
        Map<ClientId, Peer> peers = new LinkedHashMap<>();
        for (SecAggAdvertisement ad : setup.getNeighboursList()) {
            ClientId id = new ClientId(ad.getClientId());
            if (id.equals(self) || peers.containsKey(id)) {
                throw new Refused("the setup lists " + id + " twice or lists this client as its own neighbour");
            }
            VerifyingKey key;
            try {
                key = VerifyingKey.fromEncoded(ad.getPublicKey().toByteArray());
            } catch (KeyFormatException e) {
                throw new Refused("neighbour " + id + "'s key does not decode: " + e.getMessage());
            }
            if (!key.keyId().hex().equals(ad.getKeyId()) || !key.scheme().displayName().equals(ad.getScheme())) {
                throw new Refused("neighbour " + id + "'s advertisement names another key than the one forwarded");
            }
            SecAggStatement s = new SecAggStatement(federationId, round, nonce, id, Part.ADVERTISE,
                    SecAggStatement.advertiseBody(ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray(),
                            ad.getSealKemPublicKey().toByteArray(), ad.getSealX25519PublicKey().toByteArray(),
                            ad.getSelfMaskCommitment().toByteArray()), key.scheme(), key.keyId());
            verify(s, key, ad.getSignature().toByteArray(), "neighbour " + id + "'s advertisement");
            try {
                SecAggKeys.checkPublicKeys(ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray());
                SecAggKeys.checkPublicKeys(ad.getSealKemPublicKey().toByteArray(), ad.getSealX25519PublicKey().toByteArray());
            } catch (IllegalArgumentException e) {
                throw new Refused("neighbour " + id + "'s keys are unusable: " + e.getMessage());
            }
            listed.add(new SecAggStatement.Neighbour(id, key.keyId(), PayloadDigest.of(s.encode())));
            peers.put(id, new Peer(id, ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray(),
                    ad.getSealKemPublicKey().toByteArray(), ad.getSealX25519PublicKey().toByteArray(), key));
        }
        SecAggStatement signedSetup = new SecAggStatement(federationId, round, nonce, self, Part.SETUP,
                SecAggStatement.setupBody(setup.getThreshold(), setup.getClip(), setup.getFractionBits(), setup.getWeightCap(),
                        setup.getDpClip(), setup.getDpNoiseStd(), listed), coordinatorKey.scheme(), coordinatorKey.keyId());
        verify(signedSetup, coordinatorKey, setup.getCoordinatorSignature().toByteArray(), "the coordinator's setup");
        if (shared) {
            throw new Refused("this client already sent its shares for round " + round + "; it seals them once");
        }
        // More than half of the neighbours must be needed: else a coordinator could ask one half for self-mask shares
        // and the other half for pairwise-seed shares, each request looking honest on its own.
        if (setup.getThreshold() < 2 || setup.getThreshold() > peers.size() || 2L * setup.getThreshold() <= peers.size()) {
            throw new Refused("the setup's threshold " + setup.getThreshold() + " does not fit " + peers.size()
                    + " neighbours (it must be more than half of them)");
        }
        try {
            encoding = new FixedPoint(setup.getClip(), setup.getFractionBits(), setup.getWeightCap());
        } catch (IllegalArgumentException e) {
            throw new Refused("the setup's encoding is invalid: " + e.getMessage());
        }
        if (!(setup.getDpClip() >= 0) || !(setup.getDpNoiseStd() >= 0) || Double.isInfinite(setup.getDpClip())
                || Double.isInfinite(setup.getDpNoiseStd())) {
            throw new Refused("the setup's differential-privacy parameters are invalid");
        }
        dpClip = setup.getDpClip();
        dpNoiseStd = setup.getDpNoiseStd();
        threshold = setup.getThreshold();
        neighbours = peers;
        order = List.copyOf(peers.keySet());
        byte[][] selfShares = Shamir.split(selfMask, threshold, order.size(), random);
        byte[][] pairShares = Shamir.split(keys.seed(), threshold, order.size(), random);
        SecAggShares.Builder b = SecAggShares.newBuilder().setFederationId(federationId).setRound(round)
                .setNonce(ByteString.copyFrom(nonce.bytes())).setClientId(self.value()).setKeyId(signer.keyId().hex())
                .setScheme(signer.scheme().displayName());
        for (int i = 0; i < order.size(); i++) {
            Peer p = neighbours.get(order.get(i));
            int index = i + 1;
            byte[] maskCiphertext = keys.encapsulateTo(context, self.value(), p.id().value(), p.kem()).ciphertext();
            byte[] plain = new byte[64];
            System.arraycopy(selfShares[i], 0, plain, 0, 32);
            System.arraycopy(pairShares[i], 0, plain, 32, 32);
            SealKeys.Sealed sealed = seal.seal(context, self.value(), p.id().value(), p.sealKem(), p.sealX25519(),
                    associated(self, p.id(), index), plain, random);
            byte[] selfDigest = SecAggKeys.shareDigest(context, self.value(), index, true, selfShares[i]);
            byte[] pairDigest = SecAggKeys.shareDigest(context, self.value(), index, false, pairShares[i]);
            SecAggStatement s = statement(Part.SHARE, SecAggStatement.shareBody(p.id(), index, maskCiphertext,
                    sealed.ciphertext(), sealed.sealed(), selfDigest, pairDigest));
            b.addShares(SecAggSealedShare.newBuilder().setFrom(self.value()).setTo(p.id().value()).setIndex(index)
                    .setKemCiphertext(ByteString.copyFrom(maskCiphertext))
                    .setSealCiphertext(ByteString.copyFrom(sealed.ciphertext()))
                    .setSealed(ByteString.copyFrom(sealed.sealed())).setSelfShareDigest(ByteString.copyFrom(selfDigest))
                    .setPairShareDigest(ByteString.copyFrom(pairDigest))
                    .setSignature(ByteString.copyFrom(s.sign(signer).bytes())));
        }
        shared = true;
        return b.build();
    }

    /**
     * Phase 3: opens the shares the neighbours sent, and masks the update: its fixed-point encoding, plus the self
     * mask, plus or minus the pairwise mask of every neighbour that sent shares.
     */
    SecAggMaskedInput maskedInput(List<SecAggSealedShare> inbox, float[][] trained, float[][] global, long examples)
            throws Refused {
        if (neighbours == null) {
            throw new Refused("no setup yet");
        }
        long[] v = encoding.encode(dpClip > 0 ? clipAndNoise(trained, global) : trained, global, encoding.weightOf(examples));
        Masks.apply(v, SecAggKeys.selfMaskKey(context, self.value(), selfMask), 1);
        Set<ClientId> seen = new HashSet<>();
        for (SecAggSealedShare sh : inbox) {
            ClientId from = new ClientId(sh.getFrom());
            Peer p = neighbours.get(from);
            if (p == null || !sh.getTo().equals(self.value()) || !seen.add(from)) {
                throw new Refused("the inbox holds a share from '" + from + "' to '" + sh.getTo()
                        + "', which is not one of this client's neighbours' shares for it (or is there twice)");
            }
            byte[] ct = sh.getKemCiphertext().toByteArray();
            SecAggStatement s = new SecAggStatement(federationId, round, nonce, from, Part.SHARE, SecAggStatement.shareBody(self,
                    sh.getIndex(), ct, sh.getSealCiphertext().toByteArray(), sh.getSealed().toByteArray(),
                    sh.getSelfShareDigest().toByteArray(), sh.getPairShareDigest().toByteArray()), p.key().scheme(), p.key().keyId());
            // The coordinator checked this signature; one that fails here was forged on the way.
            verify(s, p.key(), sh.getSignature().toByteArray(), "the share of " + from);
            held(from, sh);
            byte[] pair = keys.pairSeed(context, self.value(), from.value(), p.kem(), p.x25519(), ct);
            Masks.apply(v, pair, Masks.pairSign(self.value(), from.value()));
        }
        if (seen.size() < threshold) {
            throw new Refused("only " + seen.size() + " neighbours sent shares; the round needs " + threshold);
        }
        byte[] bytes = Masks.toBytes(v);
        SecAggStatement s = statement(Part.MASKED_INPUT, SecAggStatement.maskedInputBody(v.length, PayloadDigest.of(bytes)));
        return SecAggMaskedInput.newBuilder().setFederationId(federationId).setRound(round)
                .setNonce(ByteString.copyFrom(nonce.bytes())).setClientId(self.value()).setMasked(ByteString.copyFrom(bytes))
                .setKeyId(signer.keyId().hex()).setScheme(signer.scheme().displayName())
                .setSignature(ByteString.copyFrom(s.sign(signer).bytes())).build();
    }

    /**
     * Opens a neighbour's sealed shares and keeps them if they match the digests it signed. A share that does not open
     * or match is not kept (the neighbour is still masked with: its pairwise seed does not depend on it); its owner
     * misbehaved, and the others' shares can still rebuild its seeds.
     */
    private void held(ClientId from, SecAggSealedShare sh) {
        Peer p = neighbours.get(from);
        int index = sh.getIndex();
        try {
            byte[] plain = seal.open(context, from.value(), self.value(), p.sealX25519(), sh.getSealCiphertext().toByteArray(),
                    associated(from, self, index), sh.getSealed().toByteArray());
            byte[] selfShare = Arrays.copyOfRange(plain, 0, 32);
            byte[] pairShare = Arrays.copyOfRange(plain, 32, 64);
            if (plain.length != 64 || index < 1 || index > 255
                    || !MessageDigest.isEqual(SecAggKeys.shareDigest(context, from.value(), index, true, selfShare),
                    sh.getSelfShareDigest().toByteArray())
                    || !MessageDigest.isEqual(SecAggKeys.shareDigest(context, from.value(), index, false, pairShare),
                    sh.getPairShareDigest().toByteArray())) {
                unopened.add(from.value());
                return;
            }
            held.put(from, new Held(index, selfShare, pairShare));
        } catch (IllegalArgumentException e) {
            unopened.add(from.value());
        }
    }

    /** Neighbours whose shares this client could not open or check (their owners misbehaved). */
    List<String> unopened() {
        return List.copyOf(unopened);
    }

    /**
     * Phase 4: the shares the coordinator asks for: the self-mask share of every surviving neighbour, the pairwise-seed
     * share of every dropped one. Refused whole when the request is not the coordinator's, names a client twice (in both
     * lists), names a client this client holds no share of, or comes after this client already answered one.
     */
    SecAggReveal reveal(SecAggUnmaskRequest request) throws Refused {
        List<ClientId> survivors = request.getSurvivorsList().stream().map(ClientId::new).toList();
        List<ClientId> dropped = request.getDroppedList().stream().map(ClientId::new).toList();
        SecAggStatement s = new SecAggStatement(federationId, round, nonce, self, Part.UNMASK_REQUEST,
                SecAggStatement.unmaskRequestBody(survivors, dropped), coordinatorKey.scheme(), coordinatorKey.keyId());
        verify(s, coordinatorKey, request.getCoordinatorSignature().toByteArray(), "the coordinator's unmask request");
        if (revealed) {
            throw new Refused("this client already answered an unmask request for round " + round
                    + "; a second could ask for the other share of a neighbour");
        }
        Set<ClientId> named = new HashSet<>();
        for (ClientId c : survivors) {
            if (!named.add(c)) {
                throw new Refused("the unmask request names " + c + " twice");
            }
        }
        for (ClientId c : dropped) {
            if (!named.add(c)) {
                throw new Refused("the unmask request asks for both shares of " + c
                        + " (its self mask as a survivor and its pairwise seed as dropped); revealing neither");
            }
        }
        for (ClientId c : named) {
            if (!neighbours.containsKey(c)) {
                throw new Refused("the unmask request names " + c + ", which is not one of this client's neighbours");
            }
        }
        revealed = true;
        List<SecAggStatement.Revealed> out = new ArrayList<>();
        for (ClientId c : survivors) {
            Held h = held.get(c);
            if (h != null) { // a share that did not open is not revealed: its owner is the one who misbehaved
                out.add(new SecAggStatement.Revealed(c, true, h.index(), h.selfShare()));
            }
        }
        for (ClientId c : dropped) {
            Held h = held.get(c);
            if (h != null) {
                out.add(new SecAggStatement.Revealed(c, false, h.index(), h.pairShare()));
            }
        }
        SecAggStatement signed = statement(Part.REVEAL, SecAggStatement.revealBody(out));
        SecAggReveal.Builder b = SecAggReveal.newBuilder().setFederationId(federationId).setRound(round)
                .setNonce(ByteString.copyFrom(nonce.bytes())).setClientId(self.value()).setKeyId(signer.keyId().hex())
                .setScheme(signer.scheme().displayName()).setSignature(ByteString.copyFrom(signed.sign(signer).bytes()));
        for (SecAggStatement.Revealed r : out) {
            b.addShares(SecAggRevealedShare.newBuilder().setOwner(r.owner().value()).setSelfMask(r.selfMask())
                    .setIndex(r.index()).setShare(ByteString.copyFrom(r.share())));
        }
        return b.build();
    }

    /**
     * Distributed DP's client part: the difference from the global model clipped to L2 norm {@code dpClip}, plus
     * Gaussian noise of std {@code dpNoiseStd} on every coordinate (from a {@link SecureRandom}), returned as a model.
     */
    private float[][] clipAndNoise(float[][] trained, float[][] global) {
        double norm2 = 0;
        for (int t = 0; t < trained.length; t++) {
            for (int i = 0; i < trained[t].length; i++) {
                double d = (double) trained[t][i] - global[t][i];
                norm2 += d * d;
            }
        }
        double scale = Math.sqrt(norm2) > dpClip ? dpClip / Math.sqrt(norm2) : 1.0;
        float[][] out = new float[trained.length][];
        for (int t = 0; t < trained.length; t++) {
            out[t] = new float[trained[t].length];
            for (int i = 0; i < out[t].length; i++) {
                double d = ((double) trained[t][i] - global[t][i]) * scale + dpNoiseStd * random.nextGaussian();
                out[t][i] = (float) (global[t][i] + d);
            }
        }
        return out;
    }

    private byte[] associated(ClientId from, ClientId to, int index) {
        return (HexFormatHolder.HEX.formatHex(context) + "|" + from.value() + "|" + to.value() + "|" + index)
                .getBytes(StandardCharsets.UTF_8);
    }

    private static final class HexFormatHolder {
        static final java.util.HexFormat HEX = java.util.HexFormat.of();
    }

    private SecAggStatement statement(Part part, byte[] body) {
        return new SecAggStatement(federationId, round, nonce, self, part, body, signer.scheme(), signer.keyId());
    }

    private static void verify(SecAggStatement s, VerifyingKey key, byte[] signature, String what) throws Refused {
        try {
            s.verify(key, SignatureValue.of(key.scheme(), signature));
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new Refused(what + " does not verify: " + e.getMessage());
        }
    }
}
