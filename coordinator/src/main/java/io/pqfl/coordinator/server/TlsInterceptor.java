package io.pqfl.coordinator.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * For calls over TLS: makes the client's verified certificate (mutual TLS) available to the service, and
 * logs and counts each connection's negotiated key exchange once, warning when it is not the hybrid one.
 */
final class TlsInterceptor implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(TlsInterceptor.class);
    private static final String SEEN = "pqfl.tls.logged";
    /** The client's certificate from the TLS handshake, or null without mutual TLS. */
    static final Context.Key<X509Certificate> PEER_CERTIFICATE = Context.key("pqfl-peer-certificate");

    private final CoordinatorMetrics metrics;

    TlsInterceptor(CoordinatorMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return next.startCall(call, headers);
        }
        if (session.getValue(SEEN) == null) {
            session.putValue(SEEN, Boolean.TRUE);
            String group = PqTls.negotiatedGroup(session).orElse("unknown");
            metrics.tlsHandshake(group);
            Object peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            if (group.equals(KeyExchange.HYBRID_GROUP)) {
                log.info("TLS connection from {}: {}, {}, {}", peer, session.getProtocol(), group, session.getCipherSuite());
            } else {
                log.warn("TLS connection from {} uses key exchange {}, not {}: not protected against a future quantum "
                        + "computer", peer, group, KeyExchange.HYBRID_GROUP);
            }
        }
        X509Certificate peerCert = null;
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length > 0 && chain[0] instanceof X509Certificate x) {
                peerCert = x;
            }
        } catch (SSLPeerUnverifiedException e) {
            // no client certificate: fine unless mutual TLS is required, which the handshake enforces
        }
        if (peerCert == null) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(PEER_CERTIFICATE, peerCert), call, headers, next);
    }
}
