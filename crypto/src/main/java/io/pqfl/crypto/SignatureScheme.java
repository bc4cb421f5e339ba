package io.pqfl.crypto;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The closed set of signature schemes pqfl can sign and verify with.
 *
 * <p>Each constant carries the facts a caller needs to choose between schemes: the standard that defines
 * it, its NIST security category, its public-key and (maximum) signature size, and whether pqfl's signatures
 * with it are deterministic. Sizes are the specification values (FIPS 204 Table 2, FIPS 205 Table 2,
 * Falcon specification 1.2 / round-3 bounds, RFC 8032, SEC 1); tests check that the provider agrees.
 *
 * <p>Provider algorithm strings do not live here; see {@code io.pqfl.crypto.internal.BcAlgorithms}.
 */
public enum SignatureScheme {
    ML_DSA_44("ML-DSA-44", "Dilithium2", Family.ML_DSA, 2, 1312, 2420, true),
    ML_DSA_65("ML-DSA-65", "Dilithium3", Family.ML_DSA, 3, 1952, 3309, true),
    ML_DSA_87("ML-DSA-87", "Dilithium5", Family.ML_DSA, 5, 2592, 4627, true),

    FALCON_512("Falcon-512", "FN-DSA-512", Family.FALCON, 1, 897, 690, false),
    FALCON_1024("Falcon-1024", "FN-DSA-1024", Family.FALCON, 5, 1793, 1330, false),

    SLH_DSA_SHA2_128S("SLH-DSA-SHA2-128s", "SPHINCS+-SHA2-128s-simple", Family.SLH_DSA, 1, 32, 7856, true),
    SLH_DSA_SHA2_128F("SLH-DSA-SHA2-128f", "SPHINCS+-SHA2-128f-simple", Family.SLH_DSA, 1, 32, 17088, true),
    SLH_DSA_SHA2_192S("SLH-DSA-SHA2-192s", "SPHINCS+-SHA2-192s-simple", Family.SLH_DSA, 3, 48, 16224, true),
    SLH_DSA_SHA2_192F("SLH-DSA-SHA2-192f", "SPHINCS+-SHA2-192f-simple", Family.SLH_DSA, 3, 48, 35664, true),
    SLH_DSA_SHA2_256S("SLH-DSA-SHA2-256s", "SPHINCS+-SHA2-256s-simple", Family.SLH_DSA, 5, 64, 29792, true),
    SLH_DSA_SHA2_256F("SLH-DSA-SHA2-256f", "SPHINCS+-SHA2-256f-simple", Family.SLH_DSA, 5, 64, 49856, true),
    SLH_DSA_SHAKE_128S("SLH-DSA-SHAKE-128s", "SPHINCS+-SHAKE-128s-simple", Family.SLH_DSA, 1, 32, 7856, true),
    SLH_DSA_SHAKE_128F("SLH-DSA-SHAKE-128f", "SPHINCS+-SHAKE-128f-simple", Family.SLH_DSA, 1, 32, 17088, true),
    SLH_DSA_SHAKE_192S("SLH-DSA-SHAKE-192s", "SPHINCS+-SHAKE-192s-simple", Family.SLH_DSA, 3, 48, 16224, true),
    SLH_DSA_SHAKE_192F("SLH-DSA-SHAKE-192f", "SPHINCS+-SHAKE-192f-simple", Family.SLH_DSA, 3, 48, 35664, true),
    SLH_DSA_SHAKE_256S("SLH-DSA-SHAKE-256s", "SPHINCS+-SHAKE-256s-simple", Family.SLH_DSA, 5, 64, 29792, true),
    SLH_DSA_SHAKE_256F("SLH-DSA-SHAKE-256f", "SPHINCS+-SHAKE-256f-simple", Family.SLH_DSA, 5, 64, 49856, true),

    ED25519("Ed25519", "EdDSA-25519", Family.EDDSA, 0, 32, 64, true),
    ECDSA_P256("ECDSA-P256", "secp256r1-SHA256", Family.ECDSA, 0, 65, 72, false);

    /** A family of schemes defined by one standard. */
    public enum Family {
        ML_DSA("FIPS 204 (ML-DSA, CRYSTALS-Dilithium)", true, true),
        SLH_DSA("FIPS 205 (SLH-DSA, SPHINCS+)", true, true),
        FALCON("Falcon 1.2 (to become FIPS 206 FN-DSA)", true, false),
        EDDSA("RFC 8032 (classical baseline)", false, true),
        ECDSA("FIPS 186-5 with SHA-256 (classical baseline)", false, false);

        private final String standard;
        private final boolean postQuantum;
        private final boolean fixedSignatureSize;

        Family(String standard, boolean postQuantum, boolean fixedSignatureSize) {
            this.standard = standard;
            this.postQuantum = postQuantum;
            this.fixedSignatureSize = fixedSignatureSize;
        }

        public String standard() {
            return standard;
        }

        public boolean isPostQuantum() {
            return postQuantum;
        }

        /** Whether every signature has exactly {@link SignatureScheme#signatureSize()} bytes. */
        public boolean hasFixedSignatureSize() {
            return fixedSignatureSize;
        }
    }

    private final String displayName;
    private final String preStandardName;
    private final Family family;
    private final int nistLevel;
    private final int publicKeySize;
    private final int signatureSize;
    private final boolean deterministic;

    SignatureScheme(String displayName, String preStandardName, Family family, int nistLevel,
                    int publicKeySize, int signatureSize, boolean deterministic) {
        this.displayName = displayName;
        this.preStandardName = preStandardName;
        this.family = family;
        this.nistLevel = nistLevel;
        this.publicKeySize = publicKeySize;
        this.signatureSize = signatureSize;
        this.deterministic = deterministic;
    }

    /** The standard's name, e.g. {@code ML-DSA-65}; what the CLI and the docs show. */
    public String displayName() {
        return displayName;
    }

    /** The name used before standardisation, e.g. {@code Dilithium3}. */
    public String preStandardName() {
        return preStandardName;
    }

    public Family family() {
        return family;
    }

    /** The standard that defines the scheme. */
    public String standard() {
        return family.standard();
    }

    /** NIST post-quantum security category 1-5; 0 for the classical baselines (broken by a quantum computer). */
    public int nistLevel() {
        return nistLevel;
    }

    public boolean isPostQuantum() {
        return family.isPostQuantum();
    }

    /** Size in bytes of the raw public key (the bit string inside the X.509 SubjectPublicKeyInfo). */
    public int publicKeySize() {
        return publicKeySize;
    }

    /** Size in bytes of a signature; for Falcon and ECDSA, whose signatures vary, the maximum. */
    public int signatureSize() {
        return signatureSize;
    }

    /** Whether pqfl's signatures with this scheme are deterministic (same key and message give the same bytes). */
    public boolean isDeterministic() {
        return deterministic;
    }

    @Override
    public String toString() {
        return displayName;
    }

    /**
     * Parses a scheme name: the standard name ({@code ML-DSA-65}), the pre-standard name
     * ({@code Dilithium3}) or the constant name ({@code ML_DSA_65}), ignoring case.
     *
     * @throws IllegalArgumentException naming the valid schemes when {@code name} is none of them
     */
    public static SignatureScheme parse(String name) {
        Objects.requireNonNull(name, "name");
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (SignatureScheme s : values()) {
            if (s.displayName.toLowerCase(Locale.ROOT).equals(wanted)
                    || s.preStandardName.toLowerCase(Locale.ROOT).equals(wanted)
                    || s.name().toLowerCase(Locale.ROOT).equals(wanted)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown signature scheme '" + name + "'; valid schemes: " + validNames());
    }

    /** The standard names of all schemes, comma-separated, for error messages. */
    public static String validNames() {
        return Arrays.stream(values()).map(SignatureScheme::displayName).collect(Collectors.joining(", "));
    }
}
