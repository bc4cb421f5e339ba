package io.pqfl.transport;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import org.bouncycastle.jcajce.util.JcaJceHelper;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipherImpl;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.bouncycastle.tls.crypto.impl.jcajce.JceAEADCipherImpl;

/**
 * BCJSSE's TLS crypto with one change: the record layer's AES-GCM comes from the JDK (whose AES-GCM uses
 * the CPU's AES and carry-less multiply instructions) instead of Bouncy Castle's pure-Java AES-GCM. The
 * key exchange (X25519MLKEM768), certificate signatures (ML-DSA) and everything else stay with Bouncy
 * Castle. If the JDK cannot provide the cipher, Bouncy Castle's is used.
 */
final class JdkAeadTlsCrypto extends JcaTlsCrypto {
    private static final JcaJceHelper JDK = new DefaultJcaJceHelper();

    private JdkAeadTlsCrypto(JcaJceHelper helper, JcaJceHelper altHelper, SecureRandom entropy, SecureRandom nonceEntropy) {
        super(helper, altHelper, entropy, nonceEntropy);
    }

    @Override
    protected TlsAEADCipherImpl createAEADCipher(String cipherName, String algorithm, int keySize, boolean isEncrypting)
            throws GeneralSecurityException {
        if (cipherName.startsWith("AES/GCM")) {
            try {
                return new JceAEADCipherImpl(this, JDK, cipherName, algorithm, keySize, isEncrypting);
            } catch (GeneralSecurityException e) {
                // fall through to Bouncy Castle's implementation
            }
        }
        return super.createAEADCipher(cipherName, algorithm, keySize, isEncrypting);
    }

    /** Creates {@link JdkAeadTlsCrypto} instances over a Bouncy Castle provider. */
    static final class Provider2 extends JcaTlsCryptoProvider {
        Provider2(Provider bc) {
            setProvider(bc);
        }

        @Override
        public JcaTlsCrypto create(SecureRandom random) {
            return create(random, random);
        }

        @Override
        public JcaTlsCrypto create(SecureRandom keyRandom, SecureRandom nonceRandom) {
            return new JdkAeadTlsCrypto(getHelper(), getAltHelper(), keyRandom, nonceRandom);
        }
    }
}
