package io.pqfl.coordinator.server;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.round.TaskOutcome;
import io.pqfl.coordinator.round.RoundTask;
import io.pqfl.protocol.WireMapping;
import java.nio.ByteBuffer;
import io.pqfl.protocol.RejectReason;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.proto.v1.TaskChunk;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The task streams of GetTask calls. A stream whose client does not read keeps the chunk the coordinator
 * last wrote in the transport's buffers (HTTP/2 flow control holds it back), and ending such a stream does not
 * free it: the end waits behind the chunk. So a stream counts from its first chunk until the transport reports
 * it closed or cancelled, and the streams are bounded by that count: at most {@code maxSending} at once (other
 * clients' tasks wait their turn, holding nothing but a small object) and {@value #PER_CLIENT} per client (a
 * client with that many undelivered streams is refused BUSY). A newer request of a client supersedes its older
 * one, and a stream that makes no progress for the stall timeout is ended.
 */
final class TaskStreams {
    /** Streams one client may have holding a slot (one in use, one its broken connection has not yet released). */
    static final int PER_CLIENT = 2;

    private final int maxSending;
    private final Duration stallTimeout;
    private final ScheduledExecutorService timer;
    private final CoordinatorMetrics metrics;
    private final Map<ClientId, Pump> newest = new HashMap<>();
    private final Map<ClientId, Integer> heldByClient = new HashMap<>();
    private final Queue<Pump> waiting = new ArrayDeque<>();
    private int held;

    TaskStreams(int maxSending, Duration stallTimeout, ScheduledExecutorService timer, CoordinatorMetrics metrics) {
        this.maxSending = maxSending;
        this.metrics = metrics;
        this.stallTimeout = stallTimeout;
        this.timer = timer;
    }

    /**
     * A new task stream for {@code client}: its older stream is superseded; refused BUSY when the client already
     * holds {@value #PER_CLIENT} undelivered streams. {@code held}: the digest of a model the client holds (null for
     * none); a task for that model is streamed without the model's bytes.
     */
    Pump open(ServerCallStreamObserver<TaskChunk> out, ClientId client, PayloadDigest held) {
        Pump pump = new Pump(out, client, held);
        Pump older;
        boolean refused;
        synchronized (this) {
            refused = heldByClient.getOrDefault(client, 0) >= PER_CLIENT;
            older = refused ? null : newest.put(client, pump);
        }
        if (refused) {
            pump.end(Statuses.rejected(RejectReason.BUSY, "client " + client + " has " + PER_CLIENT
                    + " task streams it has not read; read or cancel them first").getStatus());
        } else if (older != null) {
            older.end(Status.CANCELLED.withDescription("superseded by a newer task request of the same client"));
        }
        return pump;
    }

    /** Streams holding a slot now (sending, or ended but not yet closed by the transport). */
    synchronized int held() {
        return held;
    }

    private void requestSlot(Pump p) {
        boolean start;
        synchronized (this) {
            if (p.isDone()) {
                return;
            }
            start = held < maxSending;
            if (start) {
                take(p);
            } else {
                waiting.add(p);
            }
        }
        if (start) {
            p.start();
        }
    }

    /** Under this object's lock. */
    private void take(Pump p) {
        held++;
        heldByClient.merge(p.client, 1, Integer::sum);
        p.holding = true;
    }

    /** The transport closed or cancelled {@code p}'s call: its slot passes to the next waiting stream. */
    private void closed(Pump p) {
        Pump next = null;
        synchronized (this) {
            waiting.remove(p);
            newest.remove(p.client, p);
            if (!p.holding) {
                return;
            }
            p.holding = false;
            held--;
            heldByClient.computeIfPresent(p.client, (c, n) -> n == 1 ? null : n - 1);
            while (next == null && !waiting.isEmpty()) {
                Pump candidate = waiting.poll();
                if (!candidate.isDone()) {
                    next = candidate;
                    take(next);
                }
            }
        }
        if (next != null) {
            next.start(); // outside every lock
        }
    }

    /** Streams one task with flow control: chunks go out only while the transport is ready for them. */
    final class Pump {
        private final ServerCallStreamObserver<TaskChunk> out;
        private final ClientId client;
        private final PayloadDigest held;
        /** Guarded by TaskStreams.this. */
        private boolean holding;
        private RoundTask task;
        /** Whether the task's model is the one the client holds: decided once, when the task arrives. */
        private boolean omitted;
        private int next = -1;
        private volatile boolean done;
        private long lastProgressNanos;
        private volatile Runnable cancelWait = () -> { };

        private Pump(ServerCallStreamObserver<TaskChunk> out, ClientId client, PayloadDigest held) {
            this.out = out;
            this.client = client;
            this.held = held;
            out.setOnCancelHandler(() -> {
                synchronized (this) {
                    done = true;
                }
                closed(this);
                cancelWait.run();
            });
            // Runs once the end of the stream has been handed to the transport: nothing of it stays buffered.
            out.setOnCloseHandler(() -> closed(this));
            out.setOnReadyHandler(this::drain);
        }

        void onCancel(Runnable r) {
            cancelWait = r;
            if (out.isCancelled()) {
                r.run();
            }
        }

        boolean isDone() {
            return done;
        }

        /** The engine's answer: a task to stream, or why there is none. */
        void answer(TaskOutcome outcome) {
            if (outcome instanceof TaskOutcome.TaskReady ready) {
                synchronized (this) {
                    if (done) {
                        return;
                    }
                    task = ready.task();
                    omitted = held != null && held.equals(task.model().statement().modelDigest());
                }
                requestSlot(this);
            } else if (outcome instanceof TaskOutcome.Finished) {
                end(Status.OUT_OF_RANGE.withDescription("FINISHED: the federation has finished its rounds"));
            } else if (outcome instanceof TaskOutcome.NoTask none) {
                end(Status.NOT_FOUND.withDescription("NO_TASK: " + none.why()));
            }
        }

        private void start() {
            synchronized (this) {
                lastProgressNanos = System.nanoTime();
            }
            timer.schedule(this::checkStall, stallTimeout.toNanos(), TimeUnit.NANOSECONDS);
            drain();
        }

        private synchronized void drain() {
            if (task == null || done) {
                return;
            }
            List<ByteBuffer> chunks = omitted ? List.of() : task.modelChunks();
            while (!done && out.isReady()) {
                if (next == -1) {
                    RoundTask.Signed signed = task.statementFor(client);
                    out.onNext(TaskChunk.newBuilder().setHeader(WireMapping.toWire(signed.statement(), task.manifest(),
                            signed.signature()).toBuilder().setSecureAggregation(task.secureAggregation())
                            .setModelOmitted(omitted)).build());
                } else if (next < chunks.size()) {
                    // The chunks are the global model's own bytes: wrapped, not copied, for every client.
                    out.onNext(TaskChunk.newBuilder().setModelChunk(UnsafeByteOperations.unsafeWrap(chunks.get(next))).build());
                } else {
                    out.onNext(TaskChunk.newBuilder().setModelSignature(WireMapping.toWire(task.model())).build());
                    out.onCompleted();
                    metrics.taskStreamed(omitted, task.manifest().totalBytes()); // counted once all of it went out
                    done = true;
                }
                next++;
                lastProgressNanos = System.nanoTime();
            }
        }

        private void checkStall() {
            synchronized (this) {
                if (done) {
                    return;
                }
                long idle = System.nanoTime() - lastProgressNanos;
                if (idle < stallTimeout.toNanos()) {
                    timer.schedule(this::checkStall, stallTimeout.toNanos() - idle, TimeUnit.NANOSECONDS);
                    return;
                }
            }
            end(Status.DEADLINE_EXCEEDED.withDescription("the client read nothing of its task for "
                    + stallTimeout.toSeconds() + " s"));
        }

        /** Ends the stream with {@code status}, unless it already ended. Its slot is released when the transport closes it. */
        void end(Status status) {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                try {
                    out.onError(status.asRuntimeException());
                } catch (RuntimeException alreadyClosed) {
                    // cancelled meanwhile
                }
            }
            cancelWait.run();
        }
    }
}
