package io.pqfl.crypto;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of a key holder in a {@link TrustStore}: 1-64 characters from {@code [A-Za-z0-9._-]}, not
 * starting with a dot, so it is safe as a file name and in logs.
 */
public record ClientId(String value) {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}");

    public ClientId {
        Objects.requireNonNull(value, "value");
        if (!VALID.matcher(value).matches()) {
            throw new IllegalArgumentException("invalid client id '" + value
                    + "': use 1-64 characters from A-Z a-z 0-9 . _ - (not starting with '.')");
        }
    }

    public static boolean isValid(String value) {
        return value != null && VALID.matcher(value).matches();
    }

    @Override
    public String toString() {
        return value;
    }
}
