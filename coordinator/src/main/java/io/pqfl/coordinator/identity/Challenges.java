package io.pqfl.coordinator.identity;

import io.pqfl.protocol.RejectReason;
import io.pqfl.coordinator.RefusedException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Fresh challenges that cost the coordinator nothing to hand out. A challenge is 32 bytes: the time it was
 * issued (8), random bytes (8), and a MAC (16, HMAC-SHA256 truncated) under a per-process secret over its
 * purpose, the client id and whatever else it is bound to. Checking one needs no stored state, so a stranger
 * asking for a million challenges reserves no memory; a coordinator restart invalidates outstanding ones.
 *
 * <p>Single use is enforced only where replay matters (a Hello's proof would otherwise open a second session):
 * {@link #markUsed} keeps, per client, the issue time of the newest challenge it used, and accepts only newer
 * ones. It is called only after a proof verified, so the state is one number per enrolled client, and no client
 * can crowd out another's challenges.
 */
public final class Challenges {
    /** How long a challenge is accepted. */
    public static final Duration TTL = Duration.ofMinutes(2);
    static final int BYTES = 32;

    /** What a challenge is for; part of the MAC so one purpose's challenge is useless for another. */
    public enum Purpose { SESSION, ENROLLMENT }

    private final SecretKeySpec secret;
    private final SecureRandom random;
    private final Clock clock;
    private final Map<String, Long> newestUsed = new ConcurrentHashMap<>();

    public Challenges(SecureRandom random, Clock clock) {
        this.random = Objects.requireNonNull(random, "random");
        this.clock = Objects.requireNonNull(clock, "clock");
        byte[] key = new byte[32];
        random.nextBytes(key);
        this.secret = new SecretKeySpec(key, "HmacSHA256");
    }

    /** A challenge for {@code purpose}, bound to {@code subject} (client id, and key id where it matters). */
    public byte[] issue(Purpose purpose, String subject) {
        ByteBuffer b = ByteBuffer.allocate(BYTES);
        b.putLong(clock.millis());
        byte[] nonce = new byte[8];
        random.nextBytes(nonce);
        b.put(nonce);
        b.put(mac(purpose, subject, Arrays.copyOf(b.array(), 16)));
        return b.array();
    }

    /** When a challenge issued now stops being accepted, in milliseconds since the epoch. */
    public long expiresAt(byte[] challenge) {
        return ByteBuffer.wrap(challenge).getLong() + TTL.toMillis();
    }

    /**
     * Checks that {@code challenge} was issued by this process for {@code purpose} and {@code subject} and has
     * not expired.
     */
    public void check(Purpose purpose, String subject, byte[] challenge) throws RefusedException {
        if (challenge == null || challenge.length != BYTES) {
            throw new RefusedException(RejectReason.CHALLENGE_INVALID, "a challenge has " + BYTES + " bytes, got "
                    + (challenge == null ? 0 : challenge.length) + " (ask for one first)");
        }
        byte[] expected = mac(purpose, subject, Arrays.copyOf(challenge, 16));
        if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(challenge, 16, BYTES))) {
            throw new RefusedException(RejectReason.CHALLENGE_INVALID,
                    "the challenge was not issued by this coordinator for this client (or the coordinator restarted)");
        }
        long issued = ByteBuffer.wrap(challenge).getLong();
        long now = clock.millis();
        if (issued > now + 1_000 || now - issued > TTL.toMillis()) {
            throw new RefusedException(RejectReason.CHALLENGE_INVALID,
                    "the challenge has expired (challenges are valid for " + TTL.toSeconds() + " s)");
        }
    }

    /**
     * Records a checked challenge of {@code subject} as used; false when it is not newer than the newest one this
     * subject used before (a replay, or an older challenge: the client asks for a fresh one).
     */
    public boolean markUsed(String subject, byte[] challenge) {
        long issued = ByteBuffer.wrap(challenge).getLong();
        boolean[] fresh = {false};
        newestUsed.compute(subject, (k, newest) -> {
            if (newest == null || issued > newest) {
                fresh[0] = true;
                return issued;
            }
            return newest;
        });
        return fresh[0];
    }

    private byte[] mac(Purpose purpose, String subject, byte[] head) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(secret);
            mac.update(("pqfl.challenge/" + purpose.name() + "\0" + subject + "\0").getBytes(StandardCharsets.UTF_8));
            mac.update(head);
            return Arrays.copyOf(mac.doFinal(), BYTES - 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }
}
