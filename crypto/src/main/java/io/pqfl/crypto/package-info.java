/**
 * pqfl's crypto API: post-quantum signature keys ({@link io.pqfl.crypto.Keys}, {@link io.pqfl.crypto.SigningKey},
 * {@link io.pqfl.crypto.VerifyingKey}), signing and verifying ({@link io.pqfl.crypto.Signer},
 * {@link io.pqfl.crypto.Verifier}), SHA-512 payload digests ({@link io.pqfl.crypto.PayloadHasher}), PEM key files
 * ({@link io.pqfl.crypto.KeyPem}) and a coordinator's enrolled keys ({@link io.pqfl.crypto.TrustStore}). Every
 * primitive is Bouncy Castle's; the schemes are ML-DSA-44/65/87, Falcon-512/1024, SLH-DSA and, as a classical
 * baseline, Ed25519 and ECDSA ({@link io.pqfl.crypto.SignatureScheme}).
 *
 * <p>Sign a statement that carries a payload's digest, then verify it (this is what every pqfl update and global
 * model does; {@code CryptoApiExampleTest} runs this code):
 *
 * <pre>{@code
 * SigningKey key = Keys.generate(SignatureScheme.ML_DSA_65);
 * PayloadDigest digest = new PayloadHasher().update(modelBytes).finish();      // SHA-512, in chunks if need be
 * byte[] statement = ("round 7 of federation demo: " + digest.hex()).getBytes(StandardCharsets.UTF_8);
 *
 * SignatureValue signature = Signer.create(key).sign(statement);             // pure ML-DSA, empty context
 * Verifier.create(key.verifyingKey()).verify(statement, signature);          // throws if it does not verify
 *
 * KeyPem.writeKeyPair(key, Path.of("alice.key"), Path.of("alice.pub"), null); // PKCS#8 (owner-only) and X.509
 * VerifyingKey pinned = KeyPem.readVerifyingKey(Path.of("alice.pub"));
 * String keyId = pinned.keyId().hex();                                         // SHA-256 of the SPKI, 16 bytes
 * }</pre>
 *
 * <p>{@link io.pqfl.crypto.Verifier#verify} returns nothing and throws a
 * {@link io.pqfl.crypto.SignatureVerificationException} (or its subclasses for a wrong scheme or a malformed
 * signature), so a caller cannot ignore a result. The statements pqfl signs are specified byte by byte in
 * docs/PROTOCOL.md, with test vectors in docs/test-vectors.
 */
package io.pqfl.crypto;
