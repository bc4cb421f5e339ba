package io.pqfl.coordinator.identity;

import io.pqfl.coordinator.verify.EnrolledKeys;
import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.TrustStore.TrustedClient;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.CertificateRejectedException;
import io.pqfl.crypto.pki.Certificates;
import io.pqfl.crypto.pki.PkiException;
import io.pqfl.crypto.pki.Role;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every way a coordinator knows a client: the trust directory (keys placed by the operator or enrolled with
 * a token) and, when a federation CA is configured, clients admitted by their certificate. The trust
 * directory wins: a certificate for a client already in it must carry the same key.
 *
 * <p>Admitted certificates are kept in {@code DATA-DIR/certified/<client-id>.crt}, so a restarted
 * coordinator still knows the clients of an open round. Every lookup re-checks the certificate's validity
 * period and the CRL, so a revocation reaches clients already admitted.
 */
public final class ClientDirectory implements EnrolledKeys {
    private static final Logger log = LoggerFactory.getLogger(ClientDirectory.class);

    /** {@code notAfter}: the certificate's, decoded once (every round's eligibility check asks). */
    private record Certified(X509Certificate certificate, VerifyingKey key, java.time.Instant notAfter) {
        Certified(X509Certificate certificate, VerifyingKey key) {
            this(certificate, key, certificate.getNotAfter().toInstant());
        }
    }

    private final TrustStore trust;
    private final CertificateChecker checker;
    private final Path certDir;
    private final Clock clock;
    private final Map<ClientId, Certified> certified = new ConcurrentHashMap<>();

    private ClientDirectory(TrustStore trust, CertificateChecker checker, Path certDir, Clock clock) {
        this.trust = trust;
        this.checker = checker;
        this.certDir = certDir;
        this.clock = clock;
    }

    /**
     * A directory over {@code trust}; {@code checker} null means certificates are not accepted. Loads the
     * certificates admitted before a restart from {@code certDir}.
     */
    public static ClientDirectory open(TrustStore trust, CertificateChecker checker, Path certDir, Clock clock)
            throws IOException {
        ClientDirectory d = new ClientDirectory(Objects.requireNonNull(trust, "trust"), checker,
                Objects.requireNonNull(certDir, "certDir"), Objects.requireNonNull(clock, "clock"));
        if (checker != null && Files.isDirectory(certDir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(certDir, "*.crt")) {
                for (Path f : files) {
                    try {
                        X509Certificate cert = Certificates.read(f);
                        String name = Certificates.commonName(cert);
                        VerifyingKey key;
                        try {
                            // Re-checked against the CA: a file placed here by hand admits nobody.
                            key = checker.check(cert, Role.CLIENT, name);
                        } catch (CertificateRejectedException e) {
                            if (e.reason() == CertificateRejectedException.Reason.INVALID) {
                                throw e;
                            }
                            key = Certificates.subjectKey(cert); // revoked or expired: kept, and reported so on lookup
                        }
                        d.certified.put(new ClientId(name), new Certified(cert, key));
                    } catch (PkiException | CertificateRejectedException | IllegalArgumentException e) {
                        log.warn("Ignoring {}: {}", f, e.getMessage());
                    }
                }
            }
        }
        return d;
    }

    public TrustStore trustStore() {
        return trust;
    }

    public boolean acceptsCertificates() {
        return checker != null;
    }

    @Override
    public Optional<TrustedClient> find(ClientId clientId) {
        Optional<TrustedClient> listed = trust.find(clientId);
        if (listed.isPresent()) {
            return listed;
        }
        Certified c = certified.get(clientId);
        if (c == null) {
            return Optional.empty();
        }
        boolean stillValid = checker != null && !checker.isRevoked(c.certificate())
                && !c.notAfter().isBefore(clock.instant());
        return Optional.of(new TrustedClient(clientId, c.key(), !stillValid));
    }

    /** A certificate that the federation CA issued to a client, checked but not yet admitted. */
    public record Candidate(ClientId clientId, X509Certificate certificate, VerifyingKey key) {
    }

    /**
     * Checks a client's certificate (DER) against the CA, its validity and the CRL, and that its key agrees with
     * the trust directory; admits nothing. The caller admits with {@link #admit(Candidate)} once the client
     * has proved possession of the certificate's key.
     */
    public Candidate examine(ClientId clientId, byte[] der) throws RefusedException {
        if (checker == null) {
            throw new RefusedException(RejectReason.CERTIFICATE_INVALID,
                    "this coordinator accepts no client certificates (it has no federation CA configured)");
        }
        VerifyingKey key;
        X509Certificate cert;
        try {
            cert = Certificates.parse(der);
            key = checker.check(cert, Role.CLIENT, clientId.value());
        } catch (CertificateRejectedException e) {
            throw new RefusedException(switch (e.reason()) {
                case INVALID -> RejectReason.CERTIFICATE_INVALID;
                case EXPIRED -> RejectReason.CERTIFICATE_EXPIRED;
                case REVOKED -> RejectReason.CERTIFICATE_REVOKED;
            }, e.getMessage());
        }
        Optional<TrustedClient> listed = trust.find(clientId);
        if (listed.isPresent() && !listed.get().key().equals(key)) {
            throw new RefusedException(RejectReason.KEY_MISMATCH, "client " + clientId
                    + " is in the trust directory with key " + listed.get().key().keyId() + "; its certificate carries "
                    + key.keyId());
        }
        return new Candidate(clientId, cert, key);
    }

    /**
     * Admits a client by a checked certificate. Returns the certificate when this admitted the client or changed
     * its key, empty when nothing changed.
     *
     * <p>The certificate rule: a client admitted by one certificate moves to another only if the other is newer
     * (a later notBefore), as when its key is rotated; an older certificate of the same client, even one still
     * valid and with its private key at hand, is refused (CERTIFICATE_SUPERSEDED), so a retired key cannot be
     * brought back. The trust directory wins over any certificate.
     */
    public synchronized Optional<X509Certificate> admit(Candidate candidate) throws RefusedException {
        ClientId clientId = candidate.clientId();
        X509Certificate cert = candidate.certificate();
        VerifyingKey key = candidate.key();
        if (trust.find(clientId).isPresent()) {
            return Optional.empty();
        }
        Certified before = certified.get(clientId);
        if (before != null && Arrays.equals(before.certificate().getSignature(), cert.getSignature())) {
            return Optional.empty();
        }
        if (before != null && !cert.getNotBefore().after(before.certificate().getNotBefore())) {
            throw new RefusedException(RejectReason.CERTIFICATE_SUPERSEDED, "client " + clientId
                    + " was admitted with certificate " + Certificates.serialHex(before.certificate().getSerialNumber())
                    + " (issued " + before.certificate().getNotBefore().toInstant() + "); certificate "
                    + Certificates.serialHex(cert.getSerialNumber()) + " (issued " + cert.getNotBefore().toInstant()
                    + ") is not newer");
        }
        try {
            Files.createDirectories(certDir);
            Certificates.replace(certDir.resolve(clientId.value() + ".crt"), cert);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        certified.put(clientId, new Certified(cert, key));
        log.info("Admitted client {} by certificate {} ({} key {})", clientId,
                Certificates.serialHex(cert.getSerialNumber()), key.scheme(), key.keyId());
        return Optional.of(cert);
    }
}
