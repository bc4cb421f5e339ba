package io.pqfl.crypto.secagg;

import java.security.SecureRandom;
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
 * A client's <em>sealing</em> keys for one round: an ML-KEM-768 and an X25519 key pair from fresh randomness,
 * independent of the Shamir-shared pairwise seed and never shared. The shares a client sends a neighbour are sealed
 * to the neighbour's sealing keys, so a coordinator that rebuilds a dropped client's pairwise seed (and with it the
 * dropped client's <em>mask</em> keys) still cannot open the shares others sent that client (as in SecAgg, where the
 * encryption key pair {@code c} is separate from the masking key pair {@code s}).
 */
public final class SealKeys {
    private static final MLKEMParameters KEM = MLKEMParameters.ml_kem_768;

    private final MLKEMPrivateKeyParameters kem;
    private final X25519PrivateKeyParameters x25519;

    private SealKeys(MLKEMPrivateKeyParameters kem, X25519PrivateKeyParameters x25519) {
        this.kem = kem;
        this.x25519 = x25519;
    }

    public static SealKeys generate(SecureRandom random) {
        byte[] seed = new byte[64];
        random.nextBytes(seed);
        return new SealKeys(new MLKEMPrivateKeyParameters(KEM, seed), new X25519PrivateKeyParameters(random));
    }

    public byte[] kemPublicKey() {
        return kem.getPublicKey();
    }

    public byte[] x25519PublicKey() {
        return x25519.generatePublicKey().getEncoded();
    }

    /** A sealed message: the ML-KEM ciphertext to the recipient's sealing key, and the AES-256-GCM bytes. */
    public record Sealed(byte[] ciphertext, byte[] sealed) {
    }

    /** Seals {@code plaintext} for the holder of {@code peerKem}/{@code peerX25519}, bound to {@code associated}. */
    public Sealed seal(byte[] context, String from, String to, byte[] peerKem, byte[] peerX25519, byte[] associated,
                       byte[] plaintext, SecureRandom random) {
        SecAggKeys.checkPublicKeys(peerKem, peerX25519);
        SecretWithEncapsulation s = new MLKEMGenerator(random).generateEncapsulated(new MLKEMPublicKeyParameters(KEM, peerKem));
        byte[] key = key(context, from, to, s.getSecret(), agree(peerX25519), peerKem);
        return new Sealed(s.getEncapsulation(), ShareSeal.seal(key, associated, plaintext));
    }

    /**
     * Opens what {@code from} sealed for this client.
     *
     * @throws IllegalArgumentException when it does not open (not sealed for these keys, or altered)
     */
    public byte[] open(byte[] context, String from, String to, byte[] senderX25519, byte[] ciphertext, byte[] associated,
                       byte[] sealed) {
        Objects.requireNonNull(ciphertext, "ciphertext");
        if (ciphertext.length != SecAggKeys.KEM_CIPHERTEXT_BYTES) {
            throw new IllegalArgumentException("a sealing ciphertext has " + SecAggKeys.KEM_CIPHERTEXT_BYTES + " bytes, got "
                    + ciphertext.length);
        }
        byte[] secret = new MLKEMExtractor(kem).extractSecret(ciphertext);
        return ShareSeal.open(key(context, from, to, secret, agree(senderX25519), kemPublicKey()), associated, sealed);
    }

    private byte[] agree(byte[] peerX25519) {
        X25519Agreement a = new X25519Agreement();
        a.init(x25519);
        byte[] out = new byte[a.getAgreementSize()];
        a.calculateAgreement(new X25519PublicKeyParameters(peerX25519), out, 0);
        return out;
    }

    private static byte[] key(byte[] context, String from, String to, byte[] encapsulated, byte[] x25519, byte[] recipientKem) {
        return Kdf.derive(Kdf.concat(encapsulated, x25519), "pqfl secagg share sealing key", 32, context, Kdf.utf8(from),
                Kdf.utf8(to), recipientKem);
    }
}
