package io.pqfl.crypto.pki;

import io.pqfl.crypto.KeyFormatException;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.internal.BcAlgorithms;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * Reading and writing X.509 certificates and CRLs as PEM, and what pqfl reads out of a certificate: its
 * subject key as a {@link VerifyingKey} and its common name. Parsing goes through Bouncy Castle, so ML-DSA,
 * SLH-DSA and Falcon certificates work on every JDK.
 */
public final class Certificates {
    private Certificates() {
    }

    /** Reads every certificate in a PEM file (a leaf, or a chain leaf first). */
    public static List<X509Certificate> readAll(Path file) throws IOException, PkiException {
        return parseAll(readText(file), file.toString());
    }

    /** Parses every certificate in PEM text; {@code source} names it in errors. */
    public static List<X509Certificate> parseAll(String text, String source) throws PkiException {
        Object file = source;
        List<X509Certificate> out = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (!(o instanceof X509CertificateHolder holder)) {
                    throw new PkiException(file + ": expected CERTIFICATE blocks, found " + o.getClass().getSimpleName());
                }
                out.add(convert(holder));
            }
        } catch (IOException | RuntimeException e) {
            throw new PkiException(file + ": not a PEM certificate file (" + e.getMessage() + ")", e);
        }
        if (out.isEmpty()) {
            throw new PkiException(file + ": no certificate in the file");
        }
        return out;
    }

    /** Reads the first (leaf) certificate of a PEM file. */
    public static X509Certificate read(Path file) throws IOException, PkiException {
        return readAll(file).get(0);
    }

    /** Parses a DER certificate, as a peer sent it. */
    public static X509Certificate parse(byte[] der) throws CertificateRejectedException {
        try {
            return convert(new X509CertificateHolder(der));
        } catch (IOException | RuntimeException | PkiException e) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.INVALID,
                    "not a DER X.509 certificate: " + e.getMessage(), e);
        }
    }

    private static X509Certificate convert(X509CertificateHolder holder) throws PkiException {
        try {
            return new JcaX509CertificateConverter().setProvider(BcAlgorithms.bouncyCastle()).getCertificate(holder);
        } catch (CertificateException e) {
            throw new PkiException("cannot decode certificate " + holder.getSubject() + ": " + e.getMessage(), e);
        }
    }

    /** Reads a PEM CRL. */
    public static X509CRL readCrl(Path file) throws IOException, PkiException {
        return parseCrl(readText(file), file.toString());
    }

    /** Parses a PEM CRL; {@code source} names it in errors. */
    public static X509CRL parseCrl(String text, String source) throws PkiException {
        Object file = source;
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o = parser.readObject();
            if (!(o instanceof X509CRLHolder holder)) {
                throw new PkiException(file + ": expected an X509 CRL block");
            }
            return new JcaX509CRLConverter().setProvider(BcAlgorithms.bouncyCastle()).getCRL(holder);
        } catch (IOException | RuntimeException | CRLException e) {
            throw new PkiException(file + ": not a PEM CRL (" + e.getMessage() + ")", e);
        }
    }

    private static String readText(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (MalformedInputException e) {
            throw new IOException(file + ": not a PEM text file", e);
        }
    }

    /** PEM text of certificates or CRLs. */
    public static String toPem(Object... objects) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** Writes a new PEM file; refuses to overwrite one. */
    public static void writeNew(Path file, Object... objects) throws IOException {
        Files.writeString(file, toPem(objects), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
    }

    /** Replaces a PEM file atomically (write a sibling, then rename over it). */
    public static void replace(Path file, Object... objects) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, toPem(objects), StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    /** The certificate's subject key; for a client certificate, the key that signs its updates. */
    public static VerifyingKey subjectKey(X509Certificate cert) throws CertificateRejectedException {
        try {
            return VerifyingKey.fromEncoded(cert.getPublicKey().getEncoded());
        } catch (KeyFormatException e) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.INVALID,
                    "certificate " + serialHex(cert.getSerialNumber()) + " has an unsupported key: " + e.getMessage(), e);
        }
    }

    /** The subject's common name, or empty when it has none. */
    public static String commonName(X509Certificate cert) {
        X500Name name = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        RDN[] cns = name.getRDNs(BCStyle.CN);
        return cns.length == 0 ? "" : IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    /** A serial number as lower-case hex, the way {@code pqfl pki} prints and accepts it. */
    public static String serialHex(BigInteger serial) {
        return serial.toString(16).toLowerCase(Locale.ROOT);
    }
}
