package io.pqfl.crypto.internal;

import io.pqfl.crypto.SignatureScheme;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.InvalidKeySpecException;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.bc.BCObjectIdentifiers;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jcajce.interfaces.MLDSAPrivateKey;
import org.bouncycastle.jcajce.spec.MLDSAParameterSpec;
import org.bouncycastle.jcajce.spec.SLHDSAParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.pqc.jcajce.spec.FalconParameterSpec;

/**
 * The one place where Bouncy Castle's algorithm names and object identifiers meet {@link SignatureScheme}.
 * Everything outside this package names algorithms with the enum.
 */
public final class BcAlgorithms {
    private BcAlgorithms() {
    }

    private static final class Holder {
        // Constructed once, never registered with java.security.Security: callers pass it explicitly.
        static final Provider BC = new BouncyCastleProvider();
    }

    /** A shared Bouncy Castle provider instance; not installed globally. */
    public static Provider bouncyCastle() {
        return Holder.BC;
    }

    /** Bouncy Castle's name for the scheme's {@link Signature}. */
    public static String signatureAlgorithm(SignatureScheme scheme) {
        return switch (scheme) {
            case ML_DSA_44 -> "ML-DSA-44";
            case ML_DSA_65 -> "ML-DSA-65";
            case ML_DSA_87 -> "ML-DSA-87";
            case FALCON_512 -> "FALCON-512";
            case FALCON_1024 -> "FALCON-1024";
            case SLH_DSA_SHA2_128S -> "SLH-DSA-SHA2-128S";
            case SLH_DSA_SHA2_128F -> "SLH-DSA-SHA2-128F";
            case SLH_DSA_SHA2_192S -> "SLH-DSA-SHA2-192S";
            case SLH_DSA_SHA2_192F -> "SLH-DSA-SHA2-192F";
            case SLH_DSA_SHA2_256S -> "SLH-DSA-SHA2-256S";
            case SLH_DSA_SHA2_256F -> "SLH-DSA-SHA2-256F";
            case SLH_DSA_SHAKE_128S -> "SLH-DSA-SHAKE-128S";
            case SLH_DSA_SHAKE_128F -> "SLH-DSA-SHAKE-128F";
            case SLH_DSA_SHAKE_192S -> "SLH-DSA-SHAKE-192S";
            case SLH_DSA_SHAKE_192F -> "SLH-DSA-SHAKE-192F";
            case SLH_DSA_SHAKE_256S -> "SLH-DSA-SHAKE-256S";
            case SLH_DSA_SHAKE_256F -> "SLH-DSA-SHAKE-256F";
            case ED25519 -> "Ed25519";
            case ECDSA_P256 -> "SHA256withECDSA";
        };
    }

    /** Bouncy Castle's name for the scheme's {@link KeyPairGenerator} and {@link KeyFactory}. */
    static String keyAlgorithm(SignatureScheme scheme) {
        return switch (scheme.family()) {
            case ECDSA -> "EC";
            case ML_DSA, SLH_DSA, FALCON, EDDSA -> signatureAlgorithm(scheme);
        };
    }

    /** The X.509 / PKCS#8 algorithm identifier of the scheme's keys. */
    public static AlgorithmIdentifier keyAlgorithmIdentifier(SignatureScheme scheme) {
        return switch (scheme) {
            case ML_DSA_44 -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_ml_dsa_44);
            case ML_DSA_65 -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_ml_dsa_65);
            case ML_DSA_87 -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_ml_dsa_87);
            case FALCON_512 -> new AlgorithmIdentifier(BCObjectIdentifiers.falcon_512);
            case FALCON_1024 -> new AlgorithmIdentifier(BCObjectIdentifiers.falcon_1024);
            case SLH_DSA_SHA2_128S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_128s);
            case SLH_DSA_SHA2_128F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_128f);
            case SLH_DSA_SHA2_192S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_192s);
            case SLH_DSA_SHA2_192F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_192f);
            case SLH_DSA_SHA2_256S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_256s);
            case SLH_DSA_SHA2_256F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_sha2_256f);
            case SLH_DSA_SHAKE_128S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_128s);
            case SLH_DSA_SHAKE_128F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_128f);
            case SLH_DSA_SHAKE_192S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_192s);
            case SLH_DSA_SHAKE_192F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_192f);
            case SLH_DSA_SHAKE_256S -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_256s);
            case SLH_DSA_SHAKE_256F -> new AlgorithmIdentifier(NISTObjectIdentifiers.id_slh_dsa_shake_256f);
            case ED25519 -> new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519);
            case ECDSA_P256 -> new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, X9ObjectIdentifiers.prime256v1);
        };
    }

    /** Tells the scheme of a key from its X.509 / PKCS#8 algorithm identifier. */
    public static Optional<SignatureScheme> schemeOf(AlgorithmIdentifier id) {
        ASN1ObjectIdentifier oid = id.getAlgorithm();
        if (X9ObjectIdentifiers.id_ecPublicKey.equals(oid)) {
            boolean p256 = id.getParameters() != null && X9ObjectIdentifiers.prime256v1.equals(id.getParameters());
            return p256 ? Optional.of(SignatureScheme.ECDSA_P256) : Optional.empty();
        }
        for (SignatureScheme s : SignatureScheme.values()) {
            if (keyAlgorithmIdentifier(s).getAlgorithm().equals(oid)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    public static KeyPairGenerator keyPairGenerator(SignatureScheme scheme, Provider provider, SecureRandom random)
            throws NoSuchAlgorithmException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance(keyAlgorithm(scheme), provider);
        try {
            generator.initialize(parameterSpec(scheme), random);
        } catch (InvalidAlgorithmParameterException e) {
            throw new NoSuchAlgorithmException("cannot initialise key generation for " + scheme, e);
        }
        return generator;
    }

    private static AlgorithmParameterSpec parameterSpec(SignatureScheme scheme) {
        return switch (scheme.family()) {
            case ML_DSA -> MLDSAParameterSpec.fromName(signatureAlgorithm(scheme));
            case SLH_DSA -> SLHDSAParameterSpec.fromName(signatureAlgorithm(scheme));
            case FALCON -> scheme == SignatureScheme.FALCON_512 ? FalconParameterSpec.falcon_512 : FalconParameterSpec.falcon_1024;
            case EDDSA -> new NamedParameterSpec("Ed25519");
            case ECDSA -> new ECGenParameterSpec("secp256r1");
        };
    }

    public static KeyFactory keyFactory(SignatureScheme scheme, Provider provider) throws NoSuchAlgorithmException {
        return KeyFactory.getInstance(keyAlgorithm(scheme), provider);
    }

    public static Signature signature(SignatureScheme scheme, Provider provider) throws NoSuchAlgorithmException {
        return Signature.getInstance(signatureAlgorithm(scheme), provider);
    }

    /**
     * The FIPS 204 expanded private key (skEncode) of an ML-DSA key that was read without its seed; empty for
     * a key that carries its seed (Bouncy Castle then derives, or checks, everything else from it) and for
     * every other scheme.
     */
    public static Optional<byte[]> mlDsaExpandedKeyWithoutSeed(PrivateKey privateKey) {
        if (privateKey instanceof MLDSAPrivateKey k && k.getSeed() == null) {
            return Optional.of(k.getPrivateData());
        }
        return Optional.empty();
    }

    /** Recovers the public key that belongs to a private key, without the public key file. */
    public static PublicKey publicKeyOf(SignatureScheme scheme, PrivateKey privateKey, Provider provider)
            throws InvalidKeySpecException, NoSuchAlgorithmException {
        if (privateKey instanceof MLDSAPrivateKey k) {
            return k.getPublicKey();
        }
        if (privateKey instanceof org.bouncycastle.jcajce.interfaces.SLHDSAPrivateKey k) {
            return k.getPublicKey();
        }
        if (privateKey instanceof org.bouncycastle.pqc.jcajce.interfaces.FalconPrivateKey k) {
            return k.getPublicKey();
        }
        if (privateKey instanceof org.bouncycastle.jcajce.interfaces.EdDSAPrivateKey k) {
            return k.getPublicKey();
        }
        if (privateKey instanceof org.bouncycastle.jce.interfaces.ECPrivateKey k) {
            var params = k.getParameters();
            var q = params.getG().multiply(k.getD()).normalize();
            return keyFactory(scheme, provider).generatePublic(
                    new org.bouncycastle.jce.spec.ECPublicKeySpec(q, params));
        }
        throw new InvalidKeySpecException("cannot derive the public key of a " + privateKey.getAlgorithm() + " key");
    }
}
