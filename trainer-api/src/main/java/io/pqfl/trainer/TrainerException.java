package io.pqfl.trainer;

/**
 * A trainer could not be found, built or run, with a message for the user: what was wrong and, where it helps,
 * what would be right ("unknown option 'lr'; known options: data, model, task").
 */
public class TrainerException extends Exception {
    private static final long serialVersionUID = 1L;

    public TrainerException(String message) {
        super(message);
    }

    public TrainerException(String message, Throwable cause) {
        super(message, cause);
    }
}
