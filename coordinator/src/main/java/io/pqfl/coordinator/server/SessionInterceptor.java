package io.pqfl.coordinator.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.identity.IdentityService;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.protocol.SessionStatement;
import java.util.Set;

/**
 * Authentication for the calls that act for a client (GetTask, SubmitUpdate, SubmitEvaluation): the session token from the
 * metadata must name a live session of a still-enrolled client, and under mutual TLS the connection's
 * certificate must name the same client. The verified session goes into the gRPC {@link Context}; a call
 * without one is closed before a single message is read, so a stranger reserves nothing.
 */
final class SessionInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> TOKEN = Metadata.Key.of(SessionStatement.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER);
    /** The session a call was authenticated with. */
    static final Context.Key<Sessions.Session> SESSION = Context.key("pqfl-session");
    private static final Set<String> NEEDS_SESSION = Set.of(FederationGrpc.getGetTaskMethod().getFullMethodName(),
            FederationGrpc.getSubmitUpdateMethod().getFullMethodName(),
            FederationGrpc.getSubmitEvaluationMethod().getFullMethodName(),
            FederationGrpc.getAdvertiseKeysMethod().getFullMethodName(), FederationGrpc.getShareKeysMethod().getFullMethodName(),
            FederationGrpc.getSubmitMaskedInputMethod().getFullMethodName(),
            FederationGrpc.getRevealSharesMethod().getFullMethodName(), FederationGrpc.getAwaitSecAggMethod().getFullMethodName());

    private final IdentityService identity;

    SessionInterceptor(IdentityService identity) {
        this.identity = identity;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!NEEDS_SESSION.contains(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Sessions.Session session;
        try {
            session = identity.authenticate(headers.get(TOKEN), TlsInterceptor.PEER_CERTIFICATE.get());
        } catch (RefusedException e) {
            var status = Statuses.rejected(e);
            call.close(status.getStatus(), status.getTrailers());
            return new ServerCall.Listener<>() {
            };
        }
        return Contexts.interceptCall(Context.current().withValue(SESSION, session), call, headers, next);
    }
}
