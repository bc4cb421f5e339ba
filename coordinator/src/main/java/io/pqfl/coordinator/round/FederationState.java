package io.pqfl.coordinator.round;

/** Where the federation is. */
public enum FederationState { STARTING, WAITING_FOR_CLIENTS, ROUND_OPEN, AGGREGATING, FINISHED }
