package io.pqfl.crypto.secagg;

import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM for the shares a client sends a neighbour through the coordinator. Each key seals exactly one
 * message (it is derived for one round, one sender and one recipient), so the nonce is fixed at zero; the
 * associated data binds the round and both ids again.
 */
public final class ShareSeal {
    private static final int TAG_BITS = 128;

    private ShareSeal() {
    }

    public static byte[] seal(byte[] key, byte[] associated, byte[] plaintext) {
        return run(Cipher.ENCRYPT_MODE, key, associated, plaintext);
    }

    /** @throws IllegalArgumentException when the sealed bytes are not authentic for this key and associated data */
    public static byte[] open(byte[] key, byte[] associated, byte[] sealed) {
        return run(Cipher.DECRYPT_MODE, key, associated, sealed);
    }

    private static byte[] run(int mode, byte[] key, byte[] associated, byte[] input) {
        Objects.requireNonNull(input, "input");
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, new byte[12]));
            c.updateAAD(associated);
            return c.doFinal(input);
        } catch (AEADBadTagException e) {
            throw new IllegalArgumentException("the sealed share does not open: not sealed for this recipient and round, or altered");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available: " + e.getMessage(), e);
        }
    }
}
