package io.pqfl.coordinator.aggregate;

/**
 * A strategy could not produce a model it may sign: its result (or the state it would keep, such as a server
 * optimiser's moments) is not finite. The strategy's state is left as it was before the round; the coordinator
 * skips the round with the reason.
 */
public final class AggregationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AggregationException(String message) {
        super(message);
    }
}
