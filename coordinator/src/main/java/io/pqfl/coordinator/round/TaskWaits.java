package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Task requests waiting for an answer, without a thread each: a waiting request is an id in the state machine
 * and a callback here; the machine's {@link Effect.Answer} completes it, on the engine's timer
 * thread and never under the engine's lock. A thousand waiting clients cost a thousand small objects.
 */
public final class TaskWaits {
    private final FederationEngine engine;
    private final Clock clock;
    private final Executor callbacks;
    private final Map<Long, TaskWait> waits = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    TaskWaits(FederationEngine engine, Clock clock, Executor callbacks) {
        this.engine = engine;
        this.clock = clock;
        this.callbacks = callbacks;
    }

    TaskWait await(ClientId client, Duration wait, Consumer<TaskOutcome> callback) {
        TaskWait w = new TaskWait(ids.incrementAndGet(), callback);
        waits.put(w.id, w);
        engine.feed(m -> {
            Instant now = clock.instant();
            return m.taskRequested(w.id, client, now, now.plus(wait.isNegative() ? Duration.ZERO : wait));
        });
        return w;
    }

    /** Completes a wait with the machine's answer (a ready task maps to the open round's task). */
    void answer(long waitId, RoundMachine.Answer answer) {
        TaskWait w = waits.remove(waitId);
        if (w == null) {
            return;
        }
        TaskOutcome outcome;
        if (answer instanceof RoundMachine.Answer.TaskReady ready) {
            RoundWork current = engine.training().current();
            outcome = current != null && current.round() == ready.round() ? new TaskOutcome.TaskReady(current.task)
                    : new TaskOutcome.NoTask("round " + ready.round() + " is closing");
        } else if (answer instanceof RoundMachine.Answer.EvaluateReady ready) {
            EvaluationWork current = engine.evaluation().current();
            outcome = current != null && current.round() == ready.round() ? new TaskOutcome.TaskReady(current.task)
                    : new TaskOutcome.NoTask("the evaluation of round " + ready.round() + " is closing");
        } else if (answer instanceof RoundMachine.Answer.NoTask n) {
            outcome = new TaskOutcome.NoTask(n.why());
        } else {
            outcome = new TaskOutcome.Finished();
        }
        callbacks.execute(() -> w.callback.accept(outcome));
    }

    int pending() {
        return waits.size();
    }

    /** A client's pending task request: answered when its task is ready, the run ends, or its wait runs out. */
    public final class TaskWait {
        private final long id;
        private final Consumer<TaskOutcome> callback;

        private TaskWait(long id, Consumer<TaskOutcome> callback) {
            this.id = id;
            this.callback = callback;
        }

        /** The client went away: forget the wait without answering. */
        public void cancel() {
            if (waits.remove(id) != null) {
                engine.feed(m -> {
                    m.waitCancelled(id);
                    return java.util.List.of();
                });
            }
        }
    }
}
