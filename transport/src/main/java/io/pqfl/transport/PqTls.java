package io.pqfl.transport;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.lang.reflect.Method;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.logging.Level;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.jsse.BCSSLConnection;
import org.bouncycastle.jsse.BCSSLEngine;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.TlsContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS 1.3 for pqfl's gRPC channels with Bouncy Castle's JSSE provider (BCJSSE) under the unshaded Netty
 * transport: the hybrid post-quantum key exchange X25519MLKEM768 first, ML-DSA certificates, optional
 * mutual TLS.
 *
 * <p>Every engine gets its groups and signature schemes through {@link BCSSLParameters}, per engine, so no
 * JVM-wide system property is touched and one process can hold differently configured contexts.
 * {@link #negotiatedGroup(SSLSession)} reads the negotiated group out of BCJSSE's connection state; the
 * coordinator logs it per client and warns on a classical fallback.
 */
public final class PqTls {
    private static final Logger log = LoggerFactory.getLogger(PqTls.class);

    /** {@link SSLSession#getValue} key holding the negotiated key-exchange group's name. */
    public static final String GROUP_ATTRIBUTE = "pqfl.tls.namedGroup";

    private static final char[] IN_MEMORY_PASSWORD = "pqfl".toCharArray();

    private static final class Holder {
        /**
         * BCJSSE logs every connection at INFO through java.util.logging; pqfl logs what matters itself (the
         * group per connection, classical fallbacks). Held here so the setting is not garbage-collected.
         */
        static final java.util.logging.Logger BC_LOG = quiet(java.util.logging.Logger.getLogger("org.bouncycastle.jsse"));
        static final Provider JSSE = new BouncyCastleJsseProvider(false,
                new JdkAeadTlsCrypto.Provider2(BcAlgorithms.bouncyCastle()));

        private static java.util.logging.Logger quiet(java.util.logging.Logger l) {
            if (System.getProperty("java.util.logging.config.file") == null) {
                l.setLevel(Level.SEVERE);
            }
            return l;
        }
    }

    private PqTls() {
    }

    /** The process's BCJSSE provider instance (not installed globally). */
    public static Provider jsseProvider() {
        return Holder.JSSE;
    }

    /**
     * A server context. {@code clientTrust} null means no client certificates are asked for; otherwise
     * {@code clientAuth} says whether they are optional or required and {@code clientTrust} decides them.
     */
    public static SslContext server(List<X509Certificate> chain, PrivateKey key, KeyExchange groups,
            TrustManager clientTrust, ClientAuth clientAuth) {
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(key, "key");
        SSLContext ctx = sslContext(keyManagers(chain, key), clientTrust == null ? null : new TrustManager[] {clientTrust},
                groups);
        return new JdkSslContext(ctx, false, null, IdentityCipherSuiteFilter.INSTANCE, alpn(),
                clientTrust == null ? ClientAuth.NONE : clientAuth, new String[] {"TLSv1.3"}, false);
    }

    /**
     * A client context that trusts servers whose certificate chains to one of {@code trustAnchors} (the
     * federation CA) and carries the host name gRPC asks for. {@code chain}/{@code key} may be null: then
     * the client presents no certificate.
     */
    public static SslContext client(List<X509Certificate> trustAnchors, List<X509Certificate> chain, PrivateKey key,
            KeyExchange groups) {
        return client(trustAnchors, null, chain, key, groups);
    }

    /**
     * As {@link #client(List, List, PrivateKey, KeyExchange)}, and refuses a coordinator whose certificate is
     * on {@code crl} (the federation CA's revocation list; null: no revocation check).
     */
    public static SslContext client(List<X509Certificate> trustAnchors, X509CRL crl,
            List<X509Certificate> chain, PrivateKey key, KeyExchange groups) {
        SSLContext ctx = sslContext(chain == null ? null : keyManagers(chain, key), anchors(trustAnchors, crl), groups);
        return new JdkSslContext(ctx, true, null, IdentityCipherSuiteFilter.INSTANCE, alpn(), ClientAuth.NONE,
                new String[] {"TLSv1.3"}, false);
    }

    /**
     * A server context for an HTTPS endpoint beside the gRPC port (the coordinator's dashboard): TLS 1.3 with
     * {@code groups}, the certificate {@code chain} with {@code key}, no client certificates and no ALPN. The
     * certificate may be classical (ECDSA, RSA, Ed25519) where a browser must verify it; the key exchange stays
     * {@code groups}.
     */
    public static SSLContext httpsServer(List<X509Certificate> chain, PrivateKey key, KeyExchange groups) {
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(key, "key");
        return sslContext(keyManagers(chain, key), null, groups);
    }

    /** A configured BCJSSE context, for raw TLS sockets (diagnostics and tests). */
    public static SSLContext sslContext(KeyManager[] keyManagers, TrustManager[] trustManagers, KeyExchange groups) {
        try {
            SSLContext bc = SSLContext.getInstance("TLSv1.3", jsseProvider());
            bc.init(keyManagers, trustManagers, new SecureRandom());
            return new ConfiguredSslContext(bc, groups);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("BCJSSE cannot create a TLS 1.3 context: " + e.getMessage(), e);
        }
    }

    /**
     * The key-exchange group negotiated for a session made by one of this class's contexts (for example the
     * session gRPC puts in a call's {@code Grpc.TRANSPORT_ATTR_SSL_SESSION}). The first lookup finds the
     * session's engine and records the group in the session under {@link #GROUP_ATTRIBUTE}.
     */
    public static Optional<String> negotiatedGroup(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        if (session.getValue(GROUP_ATTRIBUTE) instanceof String s) {
            return Optional.of(s);
        }
        synchronized (ENGINES) {
            for (var it = ENGINES.keySet().iterator(); it.hasNext(); ) {
                BCSSLEngine e = it.next();
                BCSSLConnection c = e.getConnection();
                if (c != null && sameSession(((SSLEngine) e).getSession(), session)) {
                    it.remove();
                    Optional<String> group = negotiatedGroup(c);
                    group.ifPresent(g -> session.putValue(GROUP_ATTRIBUTE, g));
                    return group;
                }
            }
        }
        return Optional.empty();
    }

    private static boolean sameSession(SSLSession a, SSLSession b) {
        return a == b || (a.getCreationTime() == b.getCreationTime() && Arrays.equals(a.getId(), b.getId())
                && a.getId().length > 0);
    }

    /** Engines made by configured contexts whose group has not been looked up yet; weak, so closed ones go. */
    private static final Map<BCSSLEngine, Boolean> ENGINES = new WeakHashMap<>();

    /** Remembers an engine a configured context made, for {@link #negotiatedGroup(SSLSession)}. */
    static SSLEngine register(SSLEngine e) {
        synchronized (ENGINES) {
            ENGINES.put((BCSSLEngine) e, Boolean.TRUE);
        }
        return e;
    }

    /**
     * Reads the negotiated group out of a BCJSSE engine or socket connection. BCJSSE has no public accessor
     * for it, so this reaches its TLS context (the low-level {@code org.bouncycastle.tls} API, which does);
     * empty if that ever stops working.
     */
    public static Optional<String> negotiatedGroup(BCSSLConnection connection) {
        if (connection == null) {
            return Optional.empty();
        }
        try {
            Method m = null;
            for (Class<?> c = connection.getClass(); c != null && m == null; c = c.getSuperclass()) {
                for (Method candidate : c.getDeclaredMethods()) {
                    if (candidate.getName().equals("getTlsContext") && candidate.getParameterCount() == 0) {
                        m = candidate;
                    }
                }
            }
            if (m == null) {
                return Optional.empty();
            }
            m.setAccessible(true);
            TlsContext tls = (TlsContext) m.invoke(connection);
            SecurityParameters sp = tls.getSecurityParametersConnection();
            if (sp == null) {
                sp = tls.getSecurityParameters();
            }
            int group = sp.getNegotiatedGroup();
            return group < 0 ? Optional.empty() : Optional.ofNullable(NamedGroup.getName(group));
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("cannot read the negotiated group: {}", e.toString());
            return Optional.empty();
        }
    }

    private static KeyManager[] keyManagers(List<X509Certificate> chain, PrivateKey key) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12", BcAlgorithms.bouncyCastle());
            ks.load(null, null);
            ks.setKeyEntry("pqfl", key, IN_MEMORY_PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", jsseProvider());
            kmf.init(ks, IN_MEMORY_PASSWORD);
            return kmf.getKeyManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use this key and certificate for TLS: " + e.getMessage(), e);
        }
    }

    private static TrustManager[] anchors(List<X509Certificate> trustAnchors, X509CRL crl) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12", BcAlgorithms.bouncyCastle());
            ks.load(null, null);
            for (int i = 0; i < trustAnchors.size(); i++) {
                ks.setCertificateEntry("anchor-" + i, trustAnchors.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX", jsseProvider());
            if (crl == null) {
                tmf.init(ks);
            } else {
                PKIXBuilderParameters params = new PKIXBuilderParameters(ks,
                        new X509CertSelector());
                params.addCertStore(CertStore.getInstance("Collection",
                        new CollectionCertStoreParameters(List.of(crl)), BcAlgorithms.bouncyCastle()));
                params.setRevocationEnabled(true);
                tmf.init(new CertPathTrustManagerParameters(params));
            }
            return tmf.getTrustManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use these CA certificates: " + e.getMessage(), e);
        }
    }

    private static ApplicationProtocolConfig alpn() {
        return new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2);
    }
}
