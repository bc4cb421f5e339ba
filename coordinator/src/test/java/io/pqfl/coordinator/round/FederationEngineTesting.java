package io.pqfl.coordinator.round;

/** Package-private parts of the round package that tests outside it exercise. */
public final class FederationEngineTesting {
    private FederationEngineTesting() {
    }

    /** The upload budget for a model of {@code modelBytes} in a heap of {@code maxHeap}, described. */
    public static String budgetFor(long modelBytes, long maxHeap) {
        return budgetFor(modelBytes, 0, maxHeap);
    }

    /** The same with the operator's budget of {@code configuredBytes} (0: derived from the heap). */
    public static String budgetFor(long modelBytes, long configuredBytes, long maxHeap) {
        return UploadBudget.forModel(1024, configuredBytes, modelBytes, maxHeap).describe();
    }
}
