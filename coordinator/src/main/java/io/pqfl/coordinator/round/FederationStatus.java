package io.pqfl.coordinator.round;

import io.pqfl.crypto.PayloadDigest;

/** A snapshot of a federation for status calls. */
public record FederationStatus(String federationId, Stage stage, long currentRound, long closedRounds, long totalRounds,
                               int connectedClients, PayloadDigest modelDigest, long modelRound) {
}
