package io.pqfl.coordinator.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a unary or server-streaming call whose single request has not arrived within a bound: a caller that
 * opens calls and never sends them would otherwise hold them for as long as its connection lives. (Update
 * streams have their own idle timeout.) The request is the first thing such a call receives, so nothing of the
 * service runs before it and the close cannot race with one.
 */
final class RequestTimeoutInterceptor implements ServerInterceptor {
    private final Duration timeout;
    private final ScheduledExecutorService timer;

    RequestTimeoutInterceptor(Duration timeout, ScheduledExecutorService timer) {
        this.timeout = timeout;
        this.timer = timer;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        MethodDescriptor.MethodType type = call.getMethodDescriptor().getType();
        if (type != MethodDescriptor.MethodType.UNARY && type != MethodDescriptor.MethodType.SERVER_STREAMING) {
            return next.startCall(call, headers);
        }
        Guarded<Q, R> guarded = new Guarded<>(call);
        ScheduledFuture<?> expiry = timer.schedule(guarded::closeIfNoRequest, timeout.toMillis(), TimeUnit.MILLISECONDS);
        ServerCall.Listener<Q> delegate = next.startCall(guarded, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            @Override
            public void onMessage(Q message) {
                if (guarded.requestArrived()) {
                    expiry.cancel(false);
                    super.onMessage(message);
                }
            }

            @Override
            public void onHalfClose() {
                if (guarded.hasRequest()) {
                    super.onHalfClose();
                }
            }

            @Override
            public void onCancel() {
                expiry.cancel(false);
                super.onCancel();
            }

            @Override
            public void onComplete() {
                expiry.cancel(false);
                super.onComplete();
            }
        };
    }

    /** The call, closed at most once, by the timer only while no request has arrived. */
    private final class Guarded<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private boolean request;
        private boolean timedOut;

        Guarded(ServerCall<Q, R> call) {
            super(call);
        }

        /** True if the call goes on; false if the timer closed it first. */
        synchronized boolean requestArrived() {
            if (timedOut) {
                return false;
            }
            request = true;
            return true;
        }

        synchronized boolean hasRequest() {
            return request;
        }

        synchronized void closeIfNoRequest() {
            if (!request && !timedOut) {
                timedOut = true;
                super.close(Status.DEADLINE_EXCEEDED.withDescription("no request arrived within " + timeout.toSeconds()
                        + " s of the call's start"), new Metadata());
            }
        }
    }
}
