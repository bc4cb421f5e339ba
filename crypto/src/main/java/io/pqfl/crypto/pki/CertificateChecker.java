package io.pqfl.crypto.pki;

import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.internal.BcAlgorithms;
import io.pqfl.crypto.pki.CertificateRejectedException.Reason;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a certificate proves an identity in this federation: issued by the federation CA (its
 * signature verifies under the CA key), within its validity period, for the expected role, and not on the
 * CA's revocation list. The CRL file is re-read when it changes, so a {@code pqfl pki revoke} takes effect
 * on a running coordinator without a restart; a CRL that does not verify under the CA key is refused and the
 * previous one stays in force.
 */
public final class CertificateChecker {
    private static final Logger log = LoggerFactory.getLogger(CertificateChecker.class);

    private final X509Certificate ca;
    private final Path crlFile;
    private final Clock clock;
    private volatile X509CRL crl;
    private volatile FileTime crlModified;

    private CertificateChecker(X509Certificate ca, Path crlFile, Clock clock) {
        this.ca = ca;
        this.crlFile = crlFile;
        this.clock = clock;
    }

    /**
     * A checker for the CA certificate in {@code caFile}; {@code crlFile} may be null for a federation that
     * does not revoke (then nothing is ever reported revoked).
     */
    public static CertificateChecker load(Path caFile, Path crlFile, Clock clock) throws IOException, PkiException {
        X509Certificate ca = Certificates.read(caFile);
        if (ca.getBasicConstraints() < 0) {
            throw new PkiException(caFile + ": not a CA certificate (basicConstraints CA is not set)");
        }
        CertificateChecker checker = new CertificateChecker(ca, crlFile, Objects.requireNonNull(clock, "clock"));
        if (crlFile != null) {
            checker.refreshCrl(true);
        }
        return checker;
    }

    public X509Certificate caCertificate() {
        return ca;
    }

    /**
     * Checks {@code cert} for {@code role}; for a client, {@code expectedName} is the client id the peer
     * claims and must equal the certificate's common name (null skips the name check). Returns the subject key.
     */
    public VerifyingKey check(X509Certificate cert, Role role, String expectedName) throws CertificateRejectedException {
        String serial = Certificates.serialHex(cert.getSerialNumber());
        if (!cert.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new CertificateRejectedException(Reason.INVALID, "certificate " + serial + " was issued by "
                    + cert.getIssuerX500Principal() + ", not by the federation CA " + ca.getSubjectX500Principal());
        }
        try {
            cert.verify(ca.getPublicKey(), BcAlgorithms.bouncyCastle());
        } catch (GeneralSecurityException e) {
            throw new CertificateRejectedException(Reason.INVALID, "certificate " + serial
                    + " does not chain to the federation CA: its signature does not verify under the CA key", e);
        }
        Date now = Date.from(clock.instant());
        try {
            cert.checkValidity(now);
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new CertificateRejectedException(Reason.EXPIRED, "certificate " + serial + " is valid from "
                    + cert.getNotBefore().toInstant() + " to " + cert.getNotAfter().toInstant() + ", not now", e);
        }
        try {
            List<String> purposes = cert.getExtendedKeyUsage();
            if (cert.getBasicConstraints() >= 0 || purposes == null || !purposes.contains(role.purposeOid())) {
                throw new CertificateRejectedException(Reason.INVALID, "certificate " + serial + " is not a "
                        + role.name().toLowerCase(Locale.ROOT) + " certificate");
            }
        } catch (CertificateParsingException e) {
            throw new CertificateRejectedException(Reason.INVALID, "certificate " + serial + ": " + e.getMessage(), e);
        }
        if (expectedName != null && !expectedName.equals(Certificates.commonName(cert))) {
            throw new CertificateRejectedException(Reason.INVALID, "certificate " + serial + " names '"
                    + Certificates.commonName(cert) + "', not '" + expectedName + "'");
        }
        if (isRevoked(cert)) {
            throw new CertificateRejectedException(Reason.REVOKED, "certificate " + serial + " of '"
                    + Certificates.commonName(cert) + "' was revoked by the federation CA");
        }
        return Certificates.subjectKey(cert);
    }

    /** Whether the current CRL lists this certificate (re-reading the CRL file first if it changed). */
    public boolean isRevoked(X509Certificate cert) {
        if (crlFile == null) {
            return false;
        }
        try {
            refreshCrl(false);
        } catch (IOException | PkiException e) {
            log.warn("Keeping the previous CRL: {}", e.getMessage());
        }
        return crl.isRevoked(cert);
    }

    /**
     * A JSSE trust manager that accepts peers of {@code role} by {@link #check}: for a TLS server that asks
     * for client certificates, or a client that checks the coordinator against the federation CA. A refusal
     * names the reason (revoked, expired, not issued by the CA) in the handshake failure.
     */
    public X509ExtendedTrustManager trustManager(Role role) {
        return new X509ExtendedTrustManager() {
            private void checkPeer(X509Certificate[] chain) throws CertificateException {
                if (chain == null || chain.length == 0) {
                    throw new CertificateException("the peer sent no certificate");
                }
                try {
                    check(chain[0], role, null);
                } catch (CertificateRejectedException e) {
                    throw new CertificateException(e.reason() + ": " + e.getMessage(), e);
                }
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                checkPeer(chain);
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[] {ca};
            }
        };
    }

    private synchronized void refreshCrl(boolean first) throws IOException, PkiException {
        FileTime modified = Files.getLastModifiedTime(crlFile);
        if (!first && modified.equals(crlModified)) {
            return;
        }
        X509CRL fresh = Certificates.readCrl(crlFile);
        if (!fresh.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new PkiException(crlFile + ": CRL issued by " + fresh.getIssuerX500Principal() + ", not by the federation CA");
        }
        try {
            fresh.verify(ca.getPublicKey(), BcAlgorithms.bouncyCastle());
        } catch (GeneralSecurityException e) {
            throw new PkiException(crlFile + ": the CRL's signature does not verify under the federation CA key", e);
        }
        if (fresh.getNextUpdate() != null && fresh.getNextUpdate().toInstant().isBefore(clock.instant())) {
            log.warn("{}: CRL next-update time {} has passed; re-issue it with 'pqfl pki crl'", crlFile,
                    fresh.getNextUpdate().toInstant());
        }
        crl = fresh;
        crlModified = modified;
    }
}
