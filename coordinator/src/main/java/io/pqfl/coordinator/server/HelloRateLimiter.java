package io.pqfl.coordinator.server;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.pqfl.proto.v1.FederationGrpc;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Bounds Hello and enrollment calls per remote address with a token bucket (a sustained rate and a burst), so that one
 * address flooding the coordinator is answered RESOURCE_EXHAUSTED without slowing other clients. Other
 * methods are not limited here: uploads are bounded by the round's sampling and the size limits.
 */
final class HelloRateLimiter implements ServerInterceptor {
    private static final int MAX_TRACKED = 100_000;

    private final double perSecond;
    private final int burst;
    private final LongSupplier nanos;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        double tokens;
        long last;

        Bucket(double tokens, long last) {
            this.tokens = tokens;
            this.last = last;
        }
    }

    HelloRateLimiter(double perSecond, int burst, LongSupplier nanos) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.nanos = nanos;
    }

    static String addressOf(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        return String.valueOf(address);
    }

    /** Takes a token for {@code address}; false when its bucket is empty. */
    boolean tryAcquire(String address) {
        long now = nanos.getAsLong();
        if (buckets.size() > MAX_TRACKED) {
            buckets.clear(); // a flood of distinct addresses: forget them rather than grow without bound
        }
        Bucket b = buckets.computeIfAbsent(address, a -> new Bucket(burst, now));
        synchronized (b) {
            b.tokens = Math.min(burst, b.tokens + (now - b.last) / 1e9 * perSecond);
            b.last = now;
            if (b.tokens < 1) {
                return false;
            }
            b.tokens -= 1;
            return true;
        }
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (method.equals(FederationGrpc.getHelloMethod().getFullMethodName())
                || method.equals(FederationGrpc.getBeginEnrollmentMethod().getFullMethodName())
                || method.equals(FederationGrpc.getCompleteEnrollmentMethod().getFullMethodName())) {
            String address = addressOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            if (!tryAcquire(address)) {
                call.close(Status.RESOURCE_EXHAUSTED.withDescription("RATE_LIMITED: too many Hello/enrollment calls from " + address
                        + " (limit " + perSecond + "/s, burst " + burst + ")"), new Metadata());
                return new ServerCall.Listener<>() {
                };
            }
        }
        return next.startCall(call, headers);
    }
}
