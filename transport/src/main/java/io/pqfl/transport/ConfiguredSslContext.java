package io.pqfl.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import org.bouncycastle.jsse.BCSSLEngine;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.BCSSLSocket;

/**
 * A BCJSSE context whose engines and sockets come out configured with pqfl's groups and schemes: TLS 1.3 only,
 * the {@link KeyExchange}'s groups (the first one's key share sent early) and {@link #SIGNATURE_SCHEMES}, set per
 * engine through {@link BCSSLParameters} so no JVM-wide property is touched. Each engine is registered with
 * {@link PqTls#register} so that its negotiated group can be looked up later. {@link PqTls#sslContext} makes them.
 */
final class ConfiguredSslContext extends SSLContext {
    /**
     * Signature schemes offered for CertificateVerify and certificate chains: the ML-DSA levels first, then
     * the classical ones so a classical certificate still works.
     */
    static final String[] SIGNATURE_SCHEMES = {"mldsa65", "mldsa44", "mldsa87", "ed25519", "ecdsa_secp256r1_sha256",
        "ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_pss_sha256", "rsa_pkcs1_sha256"};

    ConfiguredSslContext(SSLContext bc, KeyExchange groups) {
        super(new Spi(bc, groups), bc.getProvider(), bc.getProtocol());
    }

    /** Sets pqfl's groups and signature schemes on a BCJSSE engine or socket. */
    static void configure(Object endpoint, KeyExchange groups) {
        BCSSLParameters p;
        if (endpoint instanceof BCSSLEngine e) {
            p = e.getParameters();
        } else if (endpoint instanceof BCSSLSocket s) {
            p = s.getParameters();
        } else {
            throw new IllegalStateException("not a BCJSSE endpoint: " + endpoint.getClass().getName());
        }
        String[] names = groups.groups().toArray(String[]::new);
        p.setNamedGroups(names);
        p.setEarlyKeyShares(new String[] {names[0]});
        p.setSignatureSchemes(SIGNATURE_SCHEMES);
        p.setSignatureSchemesCert(SIGNATURE_SCHEMES);
        p.setProtocols(new String[] {"TLSv1.3"});
        if (endpoint instanceof BCSSLEngine e) {
            e.setParameters(p);
        } else {
            ((BCSSLSocket) endpoint).setParameters(p);
        }
    }

    /** Hands out configured engines and client socket factories; everything else is the BCJSSE context's. */
    private static final class Spi extends SSLContextSpi {
        private final SSLContext bc;
        private final KeyExchange groups;

        Spi(SSLContext bc, KeyExchange groups) {
            this.bc = bc;
            this.groups = groups;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("already initialised");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return new ConfiguredSocketFactory(bc.getSocketFactory(), groups);
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return bc.getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            SSLEngine e = bc.createSSLEngine();
            configure(e, groups);
            return PqTls.register(e);
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            SSLEngine e = bc.createSSLEngine(host, port);
            configure(e, groups);
            return PqTls.register(e);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return bc.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return bc.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return bc.getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return bc.getSupportedSSLParameters();
        }
    }

    /** Client sockets from a configured context (used by diagnostics and the handshake tests). */
    private static final class ConfiguredSocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory bc;
        private final KeyExchange groups;

        ConfiguredSocketFactory(SSLSocketFactory bc, KeyExchange groups) {
            this.bc = bc;
            this.groups = groups;
        }

        private Socket configured(Socket s) {
            configure(s, groups);
            return s;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return bc.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return bc.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return configured(bc.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return configured(bc.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return configured(bc.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
                throws IOException {
            return configured(bc.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return configured(bc.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress,
                int localPort) throws IOException {
            return configured(bc.createSocket(address, port, localAddress, localPort));
        }
    }
}
