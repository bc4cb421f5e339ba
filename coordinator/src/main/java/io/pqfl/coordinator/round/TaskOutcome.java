package io.pqfl.coordinator.round;

/** What a task request finds: the client's task, why there is none now, or that the federation finished. */
public sealed interface TaskOutcome permits TaskOutcome.TaskReady, TaskOutcome.NoTask, TaskOutcome.Finished {
    record TaskReady(RoundTask task) implements TaskOutcome {
    }

    record NoTask(String why) implements TaskOutcome {
    }

    record Finished() implements TaskOutcome {
    }
}
