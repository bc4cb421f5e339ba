package io.pqfl.app;

/**
 * A command line that picocli accepted but that does not make sense as a whole (options that conflict, or
 * one that is missing in this combination): its message is shown as it is, with exit code 2. Unlike
 * picocli's own usage errors the full help is not printed after it, so the message stays in view.
 */
public class UsageException extends CliException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
