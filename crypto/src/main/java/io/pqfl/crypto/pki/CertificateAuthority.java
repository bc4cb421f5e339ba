package io.pqfl.crypto.pki;

import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.WrongPasswordException;
import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A federation's certificate authority, kept in one directory: {@code ca.crt} (self-signed ML-DSA
 * certificate), {@code ca.key} (its private key, PKCS#8, optionally encrypted), {@code ca.crl} (the signed
 * revocation list, re-issued on every revocation) and {@code index.tsv} (every certificate issued, one per
 * line: serial, role, name, not-after, status, revocation time, reason).
 *
 * <p>The federation PKI is deliberately one level deep: the CA signs coordinator and client certificates
 * directly, so a coordinator checks a client with one signature and one CRL lookup.
 */
public final class CertificateAuthority {
    public static final String CERT_FILE = "ca.crt";
    public static final String KEY_FILE = "ca.key";
    public static final String CRL_FILE = "ca.crl";
    public static final String INDEX_FILE = "index.tsv";
    private static final String INDEX_HEADER = "# serial\trole\tname\tnot_after\tstatus\trevoked_at\treason";

    /** One issued certificate as the index records it. */
    public record IndexEntry(BigInteger serial, Role role, String name, Instant notAfter, boolean revoked,
            Instant revokedAt, String reason) {
        String line() {
            return String.join("\t", Certificates.serialHex(serial), role.name().toLowerCase(Locale.ROOT), name,
                    notAfter.toString(), revoked ? "R" : "V", revoked ? revokedAt.toString() : "-", revoked ? reason : "-");
        }

        static IndexEntry parse(String line) {
            String[] f = line.split("\t", -1);
            if (f.length != 7) {
                throw new IllegalArgumentException("expected 7 tab-separated fields, found " + f.length);
            }
            boolean revoked = f[4].equals("R");
            return new IndexEntry(new BigInteger(f[0], 16), Role.valueOf(f[1].toUpperCase(Locale.ROOT)), f[2],
                    Instant.parse(f[3]), revoked, revoked ? Instant.parse(f[5]) : null, revoked ? f[6] : null);
        }
    }

    private final Path dir;
    private final X509Certificate certificate;
    private final SigningKey key;
    private final Clock clock;
    private final SecureRandom random;

    private CertificateAuthority(Path dir, X509Certificate certificate, SigningKey key, Clock clock, SecureRandom random) {
        this.dir = dir;
        this.certificate = certificate;
        this.key = key;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Creates a new CA in {@code dir} (which must not hold one): an ML-DSA key, a self-signed certificate
     * valid for {@code validity}, an empty CRL and an empty index.
     */
    public static CertificateAuthority init(Path dir, String name, SignatureScheme scheme, Duration validity,
            char[] password, Clock clock) throws IOException, PkiException {
        Objects.requireNonNull(name, "name");
        if (scheme.family() != SignatureScheme.Family.ML_DSA) {
            throw new PkiException("a federation CA uses ML-DSA (ML-DSA-44, ML-DSA-65 or ML-DSA-87), not " + scheme);
        }
        Files.createDirectories(dir);
        for (String f : new String[] {CERT_FILE, KEY_FILE, CRL_FILE, INDEX_FILE}) {
            if (Files.exists(dir.resolve(f))) {
                throw new PkiException(dir.resolve(f) + " already exists; refusing to overwrite a CA");
            }
        }
        SecureRandom random = new SecureRandom();
        SigningKey key = Keys.generate(scheme);
        Instant now = clock.instant();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "pqfl").addRDN(BCStyle.CN, name).build();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(random), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(validity)), subject, key.verifyingKey().toJca());
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key.verifyingKey().toJca()));
        } catch (CertIOException | GeneralSecurityException e) {
            throw new PkiException("cannot build the CA certificate: " + e.getMessage(), e);
        }
        X509Certificate cert = toCertificate(b, key);
        KeyPem.writeKeyPair(key, dir.resolve(KEY_FILE), dir.resolve("ca.pub"), password);
        Certificates.writeNew(dir.resolve(CERT_FILE), cert);
        Files.writeString(dir.resolve(INDEX_FILE), INDEX_HEADER + "\n", StandardCharsets.UTF_8);
        CertificateAuthority ca = new CertificateAuthority(dir, cert, key, clock, random);
        ca.writeCrl(List.of());
        return ca;
    }

    /** Opens an existing CA directory. */
    public static CertificateAuthority open(Path dir, char[] password, Clock clock)
            throws IOException, PkiException, KeyFormatException, WrongPasswordException {
        X509Certificate cert = Certificates.read(dir.resolve(CERT_FILE));
        SigningKey key = KeyPem.readSigningKey(dir.resolve(KEY_FILE), password);
        if (!Arrays.equals(key.verifyingKey().encoded(), cert.getPublicKey().getEncoded())) {
            throw new PkiException(dir.resolve(KEY_FILE) + " is not the key of " + dir.resolve(CERT_FILE));
        }
        CertificateAuthority ca = new CertificateAuthority(dir, cert, key, clock, new SecureRandom());
        ca.index(); // fail early on a damaged index
        return ca;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public Path directory() {
        return dir;
    }

    /**
     * Issues a certificate for {@code subjectKey}. A client certificate's common name is the client id; a
     * coordinator certificate carries its host names and addresses in subjectAltName for TLS. Thread-safe, and
     * certificates issued from several threads are signed in parallel (only the index is written one at a time).
     */
    public X509Certificate issue(Role role, String name, VerifyingKey subjectKey, List<String> dnsNames,
            List<String> ipAddresses, Duration validity) throws IOException, PkiException {
        Objects.requireNonNull(role, "role");
        if (name == null || name.isBlank() || name.contains("\t") || name.contains("\n")) {
            throw new PkiException("a certificate needs a name without tabs or newlines");
        }
        Instant now = clock.instant();
        Instant notAfter = now.plus(validity);
        if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
            notAfter = certificate.getNotAfter().toInstant();
        }
        BigInteger serial = serial(random);
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "pqfl").addRDN(BCStyle.CN, name).build();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial, Date.from(now.minusSeconds(60)),
                Date.from(notAfter), subject, subjectKey.toJca());
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(role.purpose()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey.toJca()));
            List<GeneralName> alt = new ArrayList<>();
            for (String dns : dnsNames) {
                alt.add(new GeneralName(GeneralName.dNSName, dns));
            }
            for (String ip : ipAddresses) {
                alt.add(new GeneralName(GeneralName.iPAddress, literalAddress(ip)));
            }
            if (role == Role.COORDINATOR && alt.isEmpty()) {
                throw new PkiException("a coordinator certificate needs at least one --dns name or --ip address");
            }
            if (!alt.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(GeneralName[]::new)));
            }
        } catch (CertIOException | GeneralSecurityException e) {
            throw new PkiException("cannot build the certificate: " + e.getMessage(), e);
        }
        X509Certificate cert = toCertificate(b, key);
        // Appended, not rewritten: issuing n certificates costs O(n), not O(n^2) (a simulation issues thousands).
        synchronized (this) {
            Files.writeString(dir.resolve(INDEX_FILE), new IndexEntry(serial, role, name, notAfter, false, null, null).line()
                    + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        }
        return cert;
    }

    private static String literalAddress(String ip) throws PkiException {
        if (!ip.matches("[0-9a-fA-F:.]+")) {
            throw new PkiException("not an IP address literal: " + ip);
        }
        try {
            return InetAddress.getByName(ip).getHostAddress();
        } catch (UnknownHostException e) {
            throw new PkiException("not an IP address literal: " + ip, e);
        }
    }

    /** Revokes the certificate with this serial and re-issues the CRL. Refuses an unknown serial. */
    public synchronized X509CRL revoke(BigInteger serial, String reason) throws IOException, PkiException {
        List<IndexEntry> index = new ArrayList<>(index());
        int at = -1;
        for (int i = 0; i < index.size(); i++) {
            if (index.get(i).serial().equals(serial)) {
                at = i;
            }
        }
        if (at < 0) {
            throw new PkiException("no certificate with serial " + Certificates.serialHex(serial) + " was issued by " + dir);
        }
        IndexEntry e = index.get(at);
        if (!e.revoked()) {
            String clean = reason == null || reason.isBlank() ? "unspecified" : reason.replaceAll("[\\t\\r\\n]+", " ");
            index.set(at, new IndexEntry(e.serial(), e.role(), e.name(), e.notAfter(), true, clock.instant(), clean));
            writeIndex(index);
        }
        return writeCrl(index);
    }

    /** Re-signs the CRL with a fresh this-update time (for example before its next-update time passes). */
    public synchronized X509CRL reissueCrl() throws IOException, PkiException {
        return writeCrl(index());
    }

    /** Every certificate issued, oldest first. */
    public synchronized List<IndexEntry> index() throws IOException, PkiException {
        List<IndexEntry> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(dir.resolve(INDEX_FILE), StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            try {
                out.add(IndexEntry.parse(line));
            } catch (RuntimeException e) {
                throw new PkiException(dir.resolve(INDEX_FILE) + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** The entry for a serial, if this CA issued it. */
    public Optional<IndexEntry> find(BigInteger serial) throws IOException, PkiException {
        return index().stream().filter(e -> e.serial().equals(serial)).findFirst();
    }

    private void writeIndex(List<IndexEntry> index) throws IOException {
        StringBuilder sb = new StringBuilder(INDEX_HEADER).append('\n');
        for (IndexEntry e : index) {
            sb.append(e.line()).append('\n');
        }
        Path tmp = dir.resolve(INDEX_FILE + ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(INDEX_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    private X509CRL writeCrl(List<IndexEntry> index) throws IOException, PkiException {
        Instant now = clock.instant();
        X509v2CRLBuilder b = new JcaX509v2CRLBuilder(certificate, Date.from(now));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(30))));
        for (IndexEntry e : index) {
            if (e.revoked()) {
                b.addCRLEntry(e.serial(), Date.from(e.revokedAt()), CRLReason.unspecified);
            }
        }
        try {
            b.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(now.toEpochMilli())));
            X509CRL crl = new JcaX509CRLConverter().setProvider(BcAlgorithms.bouncyCastle()).getCRL(b.build(signer(key)));
            Certificates.replace(dir.resolve(CRL_FILE), crl);
            return crl;
        } catch (CertIOException | CRLException e) {
            throw new PkiException("cannot build the CRL: " + e.getMessage(), e);
        }
    }

    private static X509Certificate toCertificate(X509v3CertificateBuilder b, SigningKey key) throws PkiException {
        try {
            return new JcaX509CertificateConverter().setProvider(BcAlgorithms.bouncyCastle()).getCertificate(b.build(signer(key)));
        } catch (CertificateException e) {
            throw new PkiException("cannot build the certificate: " + e.getMessage(), e);
        }
    }

    private static ContentSigner signer(SigningKey key) throws PkiException {
        try {
            return new JcaContentSignerBuilder(BcAlgorithms.signatureAlgorithm(key.scheme()))
                    .setProvider(BcAlgorithms.bouncyCastle()).build(key.toJca());
        } catch (OperatorCreationException e) {
            throw new PkiException("cannot sign with a " + key.scheme() + " key: " + e.getMessage(), e);
        }
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(127, random).setBit(126);
    }
}
