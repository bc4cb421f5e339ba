package io.pqfl.crypto.pki;

import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/** What a federation certificate is for; fixes its extended key usage. */
public enum Role {
    /** The coordinator's TLS server certificate (extended key usage serverAuth, names in subjectAltName). */
    COORDINATOR(KeyPurposeId.id_kp_serverAuth),
    /** A client's identity: common name = client id, key = the key that signs its updates (clientAuth). */
    CLIENT(KeyPurposeId.id_kp_clientAuth);

    private final KeyPurposeId purpose;

    Role(KeyPurposeId purpose) {
        this.purpose = purpose;
    }

    KeyPurposeId purpose() {
        return purpose;
    }

    /** The extended-key-usage OID, as {@link X509Certificate#getExtendedKeyUsage()} lists it. */
    String purposeOid() {
        return purpose.getId();
    }
}
