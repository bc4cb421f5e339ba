package io.pqfl.protocol;

/**
 * What a task asks of its client, signed in the task statement (its {@link #code()} byte): a client never
 * mistakes an evaluation for training, nor the other way round.
 */
public enum TaskKind {
    /** Train from the global model of an earlier round and submit an update. */
    TRAIN(1),
    /** Evaluate the global model of the task's own round and submit a signed evaluation statement. */
    EVALUATE(2);

    private final int code;

    TaskKind(int code) {
        this.code = code;
    }

    /** The byte that stands for this kind in the task statement. */
    public int code() {
        return code;
    }

    /** The kind a statement's byte names; throws {@link IllegalArgumentException} for any other byte. */
    public static TaskKind ofCode(int code) {
        for (TaskKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown task kind " + code);
    }
}
