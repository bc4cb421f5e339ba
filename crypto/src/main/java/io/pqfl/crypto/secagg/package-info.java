/**
 * The cryptography of pqfl's post-quantum secure aggregation (SecAgg+, Bell et al. 2020, with ML-KEM-768 in place
 * of Diffie-Hellman): per-client key material derived from one seed, pairwise secrets agreed with ML-KEM-768 and
 * X25519 together, Shamir shares of the seeds, the masks' pseudo-random expansion, the sealed shares that travel
 * through the coordinator, and the fixed-point ring encoding of an update. Knows nothing about gRPC or rounds:
 * docs/PRIVACY.md describes the protocol that uses it.
 */
package io.pqfl.crypto.secagg;
