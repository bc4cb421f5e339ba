package io.pqfl.coordinator.verify;

/**
 * Makes text that may carry a caller's bytes fit for a log line, a ledger row or a status description:
 * control characters (line breaks above all, which would forge log lines) are escaped, and the text is cut
 * to a bound so that a caller cannot fill the log or the database through an error message.
 */
public final class LogSafe {
    /** The longest text kept, in characters. */
    public static final int MAX_CHARS = 512;

    private LogSafe() {
    }

    public static String text(String s) {
        return text(s, MAX_CHARS);
    }

    public static String text(String s, int max) {
        if (s == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 16);
        int i = 0;
        for (; i < s.length() && out.length() < max; i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || Character.getType(c) == Character.FORMAT) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (i < s.length()) {
            out.append("...(").append(s.length() - i).append(" more characters)");
        }
        return out.toString();
    }
}
