package io.pqfl.coordinator.server;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.pqfl.protocol.RejectReason;
import io.pqfl.proto.v1.FederationGrpc;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Bounds calls per remote address with token buckets (a sustained rate and a burst), so that one address
 * flooding the coordinator is answered RESOURCE_EXHAUSTED (RATE_LIMITED) without slowing other clients. Two
 * tiers: the calls anyone may make before authenticating (GetChallenge, Hello, enrollment) have a tight
 * limit; every other call (GetTask, SubmitUpdate, GetStatus, the health service) a wider one. The limit is
 * checked before anything else, so a refused call costs a map lookup. The table of addresses is bounded:
 * when full, buckets that have refilled (and so hold nothing a fresh bucket would not) are dropped, and if
 * none has, a new address is refused rather than everybody's limits forgotten.
 */
final class RateLimiter implements ServerInterceptor {
    private static final Set<String> BEFORE_AUTHENTICATION = Set.of(FederationGrpc.getGetChallengeMethod().getFullMethodName(),
            FederationGrpc.getHelloMethod().getFullMethodName(), FederationGrpc.getBeginEnrollmentMethod().getFullMethodName(),
            FederationGrpc.getCompleteEnrollmentMethod().getFullMethodName());

    private final Buckets hello;
    private final Buckets calls;

    RateLimiter(double helloPerSecond, int helloBurst, double callPerSecond, int callBurst, LongSupplier nanos) {
        this.hello = new Buckets("Hello/enrollment calls", helloPerSecond, helloBurst, nanos);
        this.calls = new Buckets("calls", callPerSecond, callBurst, nanos);
    }

    static String addressOf(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        return String.valueOf(address);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        // Every method is limited: the unauthenticated ones tightly, all others (the health service included) as
        // the calls every client repeats.
        Buckets tier = BEFORE_AUTHENTICATION.contains(method) ? hello : calls;
        String address = addressOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        if (!tier.tryAcquire(address)) {
            var refused = Statuses.rejected(RejectReason.RATE_LIMITED, "too many " + tier.what + " from " + address
                    + " (limit " + tier.perSecond + "/s, burst " + tier.burst + ")");
            call.close(refused.getStatus(), refused.getTrailers());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }

    /** One tier's token buckets, by address. */
    static final class Buckets {
        private static final int MAX_TRACKED = 100_000;
        final String what;
        final double perSecond;
        final int burst;
        private final LongSupplier nanos;
        private final Map<String, Bucket> byAddress = new ConcurrentHashMap<>();

        private static final class Bucket {
            double tokens;
            long last;

            Bucket(double tokens, long last) {
                this.tokens = tokens;
                this.last = last;
            }
        }

        Buckets(String what, double perSecond, int burst, LongSupplier nanos) {
            this.what = what;
            this.perSecond = perSecond;
            this.burst = burst;
            this.nanos = nanos;
        }

        /** Takes a token for {@code address}; false when its bucket is empty (or the table is full of busy ones). */
        boolean tryAcquire(String address) {
            long now = nanos.getAsLong();
            if (byAddress.size() >= MAX_TRACKED && !byAddress.containsKey(address)) {
                byAddress.values().removeIf(b -> {
                    synchronized (b) {
                        return b.tokens + (now - b.last) / 1e9 * perSecond >= burst;
                    }
                });
                if (byAddress.size() >= MAX_TRACKED) {
                    return false;
                }
            }
            Bucket b = byAddress.computeIfAbsent(address, a -> new Bucket(burst, now));
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
    }
}
