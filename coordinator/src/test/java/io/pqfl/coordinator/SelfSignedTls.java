package io.pqfl.coordinator;

import io.pqfl.crypto.internal.BcAlgorithms;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost: what a browser-facing dashboard is given in tests.
 * Public, in the coordinator's test jar, for the command-line tests too.
 */
public record SelfSignedTls(X509Certificate certificate, KeyPair keys) {
    /** Writes the certificate and its private key (PKCS#8) as PEM files. */
    public void write(java.nio.file.Path cert, java.nio.file.Path key) throws java.io.IOException {
        for (var file : java.util.Map.of(cert, (Object) certificate, key, keys.getPrivate()).entrySet()) {
            try (var w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(java.nio.file.Files.newBufferedWriter(file.getKey()))) {
                w.writeObject(file.getValue() instanceof java.security.PrivateKey k
                        ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : file.getValue());
            }
        }
    }

    /** A BCJSSE client context (TLS 1.3, {@code groups}) that trusts this certificate alone. */
    public javax.net.ssl.SSLContext clientContext(io.pqfl.transport.KeyExchange groups) throws Exception {
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("dashboard", certificate);
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        return io.pqfl.transport.PqTls.sslContext(null, tmf.getTrustManagers(), groups);
    }

    public static SelfSignedTls create() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BcAlgorithms.bouncyCastle());
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = g.generateKeyPair();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=pqfl dashboard test");
        var builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name, keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        var signer = new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BcAlgorithms.bouncyCastle())
                .build(keys.getPrivate());
        X509Certificate cert = new JcaX509CertificateConverter().setProvider(BcAlgorithms.bouncyCastle())
                .getCertificate(builder.build(signer));
        return new SelfSignedTls(cert, keys);
    }
}
