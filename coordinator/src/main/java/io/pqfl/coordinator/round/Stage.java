package io.pqfl.coordinator.round;

/** Where the federation is: waiting for enough clients, running a round, aggregating it, or done. */
public enum Stage { WAITING_FOR_CLIENTS, ROUND_OPEN, AGGREGATING, FINISHED }
