package io.pqfl.client.agent;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.pqfl.crypto.ClientId;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.TaskChunk;
import io.pqfl.proto.v1.TaskKind;
import io.pqfl.trainer.Trainer;
import java.time.Duration;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * A client agent without a thread of its own, for hosts that act for many clients over a few shared connections
 * (the simulation's virtual clients): the same session, task verification, training through a {@link Trainer},
 * signing and delivery as {@link ClientAgent}, but the host decides when to poll ({@link #poll}, asynchronous:
 * a waiting poll holds no thread) and on which thread a received task is handled ({@link #handle}).
 */
public final class PooledAgent {
    /** Hears how one poll ended: exactly one of these is called, on a gRPC thread (hand long work elsewhere). */
    public interface Listener {
        /** A task arrived, not yet verified: pass it to {@link #handle}. */
        void task(Received task);

        /** The poll waited and no task came. */
        void none();

        /** The federation finished. */
        void finished();

        /** The poll failed: {@link #recover} decides whether it can be tried again. */
        void failed(StatusRuntimeException e);
    }

    /** A task as received, before any check: its round and deadline as the (untrusted) header states them. */
    public static final class Received {
        private final Task task;

        private Received(Task task) {
            this.task = task;
        }

        public long round() {
            return task.round();
        }

        /** The deadline the header names (ms since the epoch); 0 for none. */
        public long deadlineUnixMs() {
            return task.header().getDeadlineUnixMs();
        }

        /** Whether the header asks for training (the signed kind is checked when handled). */
        public boolean training() {
            return task.header().getKind() != TaskKind.EVALUATE;
        }
    }

    private final RoundLoop loop;
    private final FederationGrpc.FederationStub async;
    private final Backoff polls;

    /**
     * @param channel to the coordinator, shared with other agents; not closed by the agent
     * @param trainer trains and evaluates for this client; called from the thread that calls {@link #handle}
     */
    public PooledAgent(Channel channel, ClientAgent.Settings settings, ClientAgent.Hooks hooks, Trainer trainer) {
        this.loop = new RoundLoop(Objects.requireNonNull(channel, "channel"), Objects.requireNonNull(settings, "settings"),
                Objects.requireNonNull(hooks, "hooks"), Objects.requireNonNull(trainer, "trainer"),
                ClientAgent.Progress.NONE);
        this.async = FederationGrpc.newStub(channel);
        this.polls = new Backoff(Backoff.INITIAL, settings.maxBackoff(), new Random());
    }

    public ClientId clientId() {
        return loop.settings().clientId();
    }

    /** Enrollment (when the settings carry a token) and Hello; retries while the coordinator is busy or away. */
    public void join() throws InterruptedException {
        loop.join();
    }

    /** One long poll, waiting up to {@code wait} at the coordinator; {@code listener} hears how it ended. */
    public void poll(Duration wait, Listener listener) {
        ClientAgent.Settings settings = loop.settings();
        long waitMillis = wait.toMillis();
        TaskAssembly assembly = new TaskAssembly(loop.models().newest(loop.modelScope()));
        loop.session().attach(async)
                .withDeadlineAfter(waitMillis + settings.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .getTask(assembly.request(settings.clientId().value(), waitMillis), new StreamObserver<>() {
                            private boolean done;

                            @Override
                            public void onNext(TaskChunk chunk) {
                                if (done) {
                                    return;
                                }
                                Task task;
                                try {
                                    task = assembly.accept(chunk);
                                } catch (StatusRuntimeException e) {
                                    done = true;
                                    listener.failed(e);
                                    return;
                                }
                                if (task != null) {
                                    done = true;
                                    listener.task(new Received(task));
                                }
                            }

                            @Override
                            public void onError(Throwable t) {
                                if (done) {
                                    return;
                                }
                                done = true;
                                StatusRuntimeException e = t instanceof StatusRuntimeException s ? s
                                        : Status.fromThrowable(t).asRuntimeException();
                                switch (e.getStatus().getCode()) {
                                    case OUT_OF_RANGE -> listener.finished();
                                    case NOT_FOUND -> listener.none();
                                    default -> listener.failed(e);
                                }
                            }

                            @Override
                            public void onCompleted() {
                                if (!done) {
                                    done = true;
                                    listener.failed(assembly.incomplete());
                                }
                            }
                        });
    }

    /**
     * After a failed poll: a session that ended is renewed, a lost or busy coordinator is waited for (with backoff)
     * and joined again. False when the failure is not one to retry (the caller reports it).
     */
    public boolean recover(StatusRuntimeException e) throws InterruptedException {
        if (Failures.sessionEnded(e)) {
            loop.session().hello();
            return true;
        }
        if (Failures.retryable(e)) {
            Thread.sleep(polls.next().toMillis());
            loop.session().hello();
            return true;
        }
        return false;
    }

    /**
     * Verifies the task, then trains and delivers a signed update, or evaluates and delivers a signed evaluation;
     * blocks until done. False when the agent should stop (models kept failing verification, or training kept failing).
     */
    public boolean handle(Received received) throws InterruptedException {
        return loop.handle(received.task, polls);
    }

    /** What happened so far. */
    public ClientAgent.Summary summary(boolean finished) {
        return loop.summary(finished);
    }

    /** Pending deliveries give up at their next retry. */
    public void stop() {
        loop.stop();
    }

}
