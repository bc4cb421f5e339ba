package io.pqfl.crypto.secagg;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.SecretWithEncapsulation;
import org.bouncycastle.crypto.agreement.X25519Agreement;
import org.bouncycastle.crypto.kems.MLKEMExtractor;
import org.bouncycastle.crypto.kems.MLKEMGenerator;
import org.bouncycastle.crypto.params.MLKEMParameters;
import org.bouncycastle.crypto.params.MLKEMPrivateKeyParameters;
import org.bouncycastle.crypto.params.MLKEMPublicKeyParameters;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

/**
 * One client's key material for one round of secure aggregation, all derived from a single 32-byte <em>pairwise
 * seed</em> {@code m}: its ML-KEM-768 key pair (FIPS 203 key generation from the 64-byte seed {@code d || z}), its
 * X25519 key pair, and the randomness of every encapsulation it makes. Because everything is a function of
 * {@code m}, a coordinator that reconstructs a dropped client's {@code m} from {@code t} Shamir shares can redo the
 * dropped client's side of every pairwise agreement (decapsulate what the neighbours sent it, re-encapsulate what it
 * sent them) and remove the masks its surviving neighbours added for it, exactly as SecAgg+ does with the
 * reconstructed Diffie-Hellman secret key.
 *
 * <p>A pair's mask seed combines both directions of ML-KEM and the X25519 secret (a hybrid: it stays secret while
 * either ML-KEM-768 or X25519 does): see {@link #pairSeed}.
 */
public final class SecAggKeys {
    public static final int SEED_BYTES = 32;
    public static final int KEM_PUBLIC_BYTES = 1184;
    public static final int KEM_CIPHERTEXT_BYTES = 1088;
    public static final int X25519_PUBLIC_BYTES = 32;
    private static final MLKEMParameters KEM = MLKEMParameters.ml_kem_768;

    private final byte[] seed;
    private final MLKEMPrivateKeyParameters kem;
    private final X25519PrivateKeyParameters x25519;

    private SecAggKeys(byte[] seed) {
        this.seed = seed.clone();
        this.kem = new MLKEMPrivateKeyParameters(KEM, Kdf.derive(seed, "pqfl secagg ml-kem-768 keygen", 64));
        this.x25519 = new X25519PrivateKeyParameters(Kdf.derive(seed, "pqfl secagg x25519 keygen", 32));
    }

    /** The keys of a (fresh or reconstructed) pairwise seed. */
    public static SecAggKeys fromSeed(byte[] seed) {
        Objects.requireNonNull(seed, "seed");
        if (seed.length != SEED_BYTES) {
            throw new IllegalArgumentException("a pairwise seed has " + SEED_BYTES + " bytes, got " + seed.length);
        }
        return new SecAggKeys(seed);
    }

    /** Fresh keys from a new random seed. */
    public static SecAggKeys generate(SecureRandom random) {
        byte[] seed = new byte[SEED_BYTES];
        random.nextBytes(seed);
        return new SecAggKeys(seed);
    }

    /** The pairwise seed (the secret that is Shamir-shared). */
    public byte[] seed() {
        return seed.clone();
    }

    public byte[] kemPublicKey() {
        return kem.getPublicKey();
    }

    public byte[] x25519PublicKey() {
        return x25519.generatePublicKey().getEncoded();
    }

    /** Whether these keys' public halves are {@code kemPublic} and {@code x25519Public} (a reconstructed seed's check). */
    public boolean matches(byte[] kemPublic, byte[] x25519Public) {
        return MessageDigest.isEqual(kemPublicKey(), kemPublic) && MessageDigest.isEqual(x25519PublicKey(), x25519Public);
    }

    /**
     * The ML-KEM ciphertext this client sends {@code peer} in the round {@code context}, and the secret it
     * encapsulates. Deterministic in the seed, the context and both ids (FIPS 203's internal encapsulation with
     * derived randomness), so a reconstructed seed reproduces it.
     */
    public Encapsulation encapsulateTo(byte[] context, String self, String peer, byte[] peerKemPublic) {
        checkLength(peerKemPublic, KEM_PUBLIC_BYTES, "ML-KEM-768 public key");
        byte[] m = Kdf.derive(seed, "pqfl secagg ml-kem encapsulation", 32, context, Kdf.utf8(self), Kdf.utf8(peer),
                peerKemPublic);
        SecretWithEncapsulation s = MLKEMGenerator.internalGenerateEncapsulated(new MLKEMPublicKeyParameters(KEM, peerKemPublic), m);
        return new Encapsulation(s.getEncapsulation(), s.getSecret());
    }

    /** The secret in a ciphertext sent to this client (ML-KEM's implicit rejection: a bad ciphertext gives a random-looking secret). */
    public byte[] decapsulate(byte[] ciphertext) {
        checkLength(ciphertext, KEM_CIPHERTEXT_BYTES, "ML-KEM-768 ciphertext");
        return new MLKEMExtractor(kem).extractSecret(ciphertext);
    }

    /** The X25519 secret with a peer. */
    public byte[] agree(byte[] peerX25519Public) {
        checkLength(peerX25519Public, X25519_PUBLIC_BYTES, "X25519 public key");
        X25519Agreement a = new X25519Agreement();
        a.init(x25519);
        byte[] out = new byte[a.getAgreementSize()];
        a.calculateAgreement(new X25519PublicKeyParameters(peerX25519Public), out, 0);
        return out;
    }

    /**
     * The mask seed this client shares with {@code peer}: HKDF over both ML-KEM secrets (the one this client
     * encapsulated to the peer, and the one in {@code ciphertextFromPeer}) and the X25519 secret, ordered by client id
     * so both ends derive the same 32 bytes.
     */
    public byte[] pairSeed(byte[] context, String self, String peer, byte[] peerKemPublic, byte[] peerX25519Public,
                           byte[] ciphertextFromPeer) {
        byte[] sent = encapsulateTo(context, self, peer, peerKemPublic).secret();
        byte[] received = decapsulate(ciphertextFromPeer);
        byte[] x = agree(peerX25519Public);
        boolean first = self.compareTo(peer) < 0;
        String low = first ? self : peer;
        String high = first ? peer : self;
        byte[] ikm = first ? Kdf.concat(sent, received, x) : Kdf.concat(received, sent, x);
        return Kdf.derive(ikm, "pqfl secagg pairwise mask seed", 32, context, Kdf.utf8(low), Kdf.utf8(high));
    }

    /** A hiding commitment to a self-mask seed, published with the keys so a reconstructed seed can be checked. */
    public static byte[] commitSelfMask(byte[] context, String client, byte[] selfMaskSeed) {
        return Kdf.derive(selfMaskSeed, "pqfl secagg self-mask commitment", 32, context, Kdf.utf8(client));
    }

    /** The AES-CTR key of a self mask: derived from its seed under its own label (the seed also makes the commitment). */
    public static byte[] selfMaskKey(byte[] context, String client, byte[] selfMaskSeed) {
        return Kdf.derive(selfMaskSeed, "pqfl secagg self-mask stream key", 32, context, Kdf.utf8(client));
    }

    /**
     * The digest of one Shamir share that its owner signs when it sends it (so a neighbour who reveals another share is
     * caught, and the owner cannot deny the shares it sealed): SHA-512-based HKDF over the share, bound to the round,
     * the owner, the share's index and its kind. Reveals nothing of a 256-bit random share.
     */
    public static byte[] shareDigest(byte[] context, String owner, int index, boolean selfMask, byte[] share) {
        return Kdf.derive(share, selfMask ? "pqfl secagg self-mask share digest" : "pqfl secagg pairwise-seed share digest",
                32, context, Kdf.utf8(owner), new byte[] {(byte) (index >>> 24), (byte) (index >>> 16), (byte) (index >>> 8),
                        (byte) index});
    }

    /**
     * Checks that advertised public keys are usable: an ML-KEM-768 key that passes FIPS 203's modulus check and an
     * X25519 key that is not of small order (an agreement with it is not all zeros).
     *
     * @throws IllegalArgumentException naming the key that is not
     */
    public static void checkPublicKeys(byte[] kemPublic, byte[] x25519Public) {
        checkLength(kemPublic, KEM_PUBLIC_BYTES, "ML-KEM-768 public key");
        checkLength(x25519Public, X25519_PUBLIC_BYTES, "X25519 public key");
        try {
            new MLKEMPublicKeyParameters(KEM, kemPublic);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the ML-KEM-768 public key is not valid (FIPS 203 modulus check)");
        }
        try {
            X25519Agreement a = new X25519Agreement();
            a.init(PROBE);
            a.calculateAgreement(new X25519PublicKeyParameters(x25519Public), new byte[32], 0);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the X25519 public key is of small order (its agreements are all zeros)");
        }
    }

    private static final X25519PrivateKeyParameters PROBE = new X25519PrivateKeyParameters(new SecureRandom());

    private static void checkLength(byte[] b, int expected, String what) {
        Objects.requireNonNull(b, what);
        if (b.length != expected) {
            throw new IllegalArgumentException("a " + what + " has " + expected + " bytes, got " + b.length);
        }
    }

    /** An ML-KEM ciphertext and the secret it carries. */
    public record Encapsulation(byte[] ciphertext, byte[] secret) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Encapsulation e && Arrays.equals(ciphertext, e.ciphertext) && Arrays.equals(secret, e.secret);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ciphertext);
        }

        @Override
        public String toString() {
            return "Encapsulation[" + ciphertext.length + " bytes]";
        }
    }
}
