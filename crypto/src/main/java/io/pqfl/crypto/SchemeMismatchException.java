package io.pqfl.crypto;

/** A signature made with one scheme presented to a key of another. */
public final class SchemeMismatchException extends SignatureVerificationException {
    private static final long serialVersionUID = 1L;
    private final SignatureScheme expected;
    private final SignatureScheme actual;

    public SchemeMismatchException(SignatureScheme expected, SignatureScheme actual) {
        super("signature scheme " + actual + " does not match the key's scheme " + expected, null);
        this.expected = expected;
        this.actual = actual;
    }

    public SignatureScheme expected() {
        return expected;
    }

    public SignatureScheme actual() {
        return actual;
    }
}
