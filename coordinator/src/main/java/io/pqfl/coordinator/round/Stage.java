package io.pqfl.coordinator.round;

/**
 * Where the federation is: waiting for enough clients, running a round, aggregating it, evaluating the model a
 * round published (between that round and the next), or done.
 */
public enum Stage { WAITING_FOR_CLIENTS, ROUND_OPEN, AGGREGATING, EVALUATING, FINISHED }
