package io.pqfl.sim.fleet;

/** A job that failed in its worker: the trainer threw, or the worker process died. The message says which. */
final class WorkerException extends Exception {
    private static final long serialVersionUID = 1L;

    WorkerException(String message) {
        super(message);
    }

    WorkerException(String message, Throwable cause) {
        super(message, cause);
    }
}
