package io.pqfl.protocol;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The head of the coordinator's audit ledger: the 64-byte {@code entry_hash} of its newest entry, or 64 zero
 * bytes while the ledger is empty. A model statement carries the head the ledger had just before the model
 * was published, so the coordinator's signature over the model also covers the ledger's history up to it
 * (docs/COORDINATOR.md, "Ledger").
 */
public final class LedgerHead {
    public static final int BYTES = 64;
    /** The head of an empty ledger (the initial model of a new federation). */
    public static final LedgerHead EMPTY = new LedgerHead(new byte[BYTES]);

    private final byte[] bytes;

    private LedgerHead(byte[] bytes) {
        this.bytes = bytes;
    }

    public static LedgerHead of(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a ledger head has " + BYTES + " bytes, got " + bytes.length);
        }
        return new LedgerHead(bytes.clone());
    }

    public static LedgerHead ofHex(String hex) {
        return of(HexFormat.of().parseHex(hex));
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    public boolean isEmpty() {
        return equals(EMPTY);
    }

    /** Constant-time comparison with raw hash bytes (false for null or another length). */
    public boolean matches(byte[] entryHash) {
        return entryHash != null && MessageDigest.isEqual(bytes, entryHash);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LedgerHead other && MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "ledger:" + hex().substring(0, 16) + "...";
    }
}
