package io.pqfl.protocol;

import java.util.Objects;
import java.util.regex.Pattern;

/** Federation ids: 1-64 characters of {@code A-Z a-z 0-9 . _ -}. */
public final class FederationIds {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}");

    private FederationIds() {
    }

    public static String require(String id) {
        Objects.requireNonNull(id, "federationId");
        if (!VALID.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid federation id '" + id + "': use 1-64 characters from A-Z a-z 0-9 . _ -");
        }
        return id;
    }
}
