package io.pqfl.coordinator.round;

import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.RoundNonce;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** A round's parts: its number, nonce, sampled clients and deadline. */
public record RoundPlan(long round, RoundNonce nonce, List<ClientId> sampled, Instant deadline) {
    public RoundPlan {
        Objects.requireNonNull(nonce, "nonce");
        sampled = List.copyOf(sampled);
        Objects.requireNonNull(deadline, "deadline");
    }
}
