package io.pqfl.transport;

import java.util.List;
import java.util.Locale;

/** Which TLS 1.3 key-exchange groups an endpoint offers, most preferred first. */
public enum KeyExchange {
    /** X25519MLKEM768 first, with classical groups as a fallback for peers that lack it. The default. */
    HYBRID("X25519MLKEM768", "x25519", "secp256r1"),
    /** Only X25519MLKEM768: a peer without the hybrid group cannot connect. */
    PQ_ONLY("X25519MLKEM768"),
    /** Classical ECDHE only (x25519, secp256r1): for comparison, or for peers without ML-KEM. */
    CLASSICAL("x25519", "secp256r1");

    /** The hybrid group's IANA name (codepoint 0x11EC). */
    public static final String HYBRID_GROUP = "X25519MLKEM768";

    private final List<String> groups;

    KeyExchange(String... groups) {
        this.groups = List.of(groups);
    }

    /** Group names as BCJSSE and the JDK name them, most preferred first. */
    public List<String> groups() {
        return groups;
    }

    /** Parses {@code hybrid}, {@code pq-only} or {@code classical}. */
    public static KeyExchange parse(String value) {
        return switch (value.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "hybrid" -> HYBRID;
            case "pq-only" -> PQ_ONLY;
            case "classical" -> CLASSICAL;
            default -> throw new IllegalArgumentException("unknown key exchange '" + value
                    + "'; use hybrid (default), pq-only or classical");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
