// SPKI / PKCS#8 / key id round trips of keys this client makes, tensor parsing, and the trainer on small data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  generateKeyPair, readSigningKey, readPublicKey, encodeSpki, parseSpki, keyIdOf, verify, SCHEMES, fromPemOrDer,
  publicKeyFromBytes,
} from '../src/keys.js';
import {
  ModelReceiver, decodeModel, encodeModel, manifestFromWire, manifestToWire, chunks, sameManifest,
} from '../src/tensors.js';
import { payloadDigest } from '../src/encoding.js';
import { denseStructure, fit, evaluate } from '../src/train.js';
import { partitionIndices } from '../src/data.js';

const dir = mkdtempSync(join(tmpdir(), 'pqfl-node-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

for (const scheme of Object.keys(SCHEMES)) {
  test(`${scheme}: generated key pair round-trips through SPKI PEM and PKCS#8 PEM`, () => {
    const k = generateKeyPair(scheme, join(dir, scheme));
    const pubPem = readFileSync(k.pubFile, 'utf8');
    assert.match(pubPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.match(readFileSync(k.keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(statSync(k.keyFile).mode & 0o777, 0o600);
    const pub = readPublicKey(k.pubFile);
    assert.equal(pub.scheme, scheme);
    assert.equal(pub.keyId, k.keyId);
    assert.equal(pub.raw.length, SCHEMES[scheme].publicKeyBytes);
    // key id = first 16 bytes of SHA-256(SPKI DER)
    const spki = fromPemOrDer(pubPem, 'PUBLIC KEY', 'pub');
    assert.equal(k.keyId, createHash('sha256').update(spki).digest().subarray(0, 16).toString('hex'));
    assert.deepEqual(encodeSpki(scheme, pub.raw), spki);
    assert.equal(keyIdOf(encodeSpki(scheme, pub.raw)), k.keyId);
    // DER works as well as PEM
    assert.equal(publicKeyFromBytes(spki).keyId, k.keyId);
    const signer = readSigningKey(k.keyFile);
    assert.equal(signer.keyId, k.keyId);
    assert.deepEqual(signer.publicKey, pub.raw);
    const msg = Buffer.from('pqfl.node-test');
    const sig = signer.sign(msg);
    assert.equal(sig.length, SCHEMES[scheme].signatureBytes);
    assert.ok(verify(scheme, pub.raw, msg, sig));
    assert.deepEqual(signer.sign(msg), sig, 'deterministic, as pqfl signs');
    assert.equal(verify(scheme, pub.raw, Buffer.from('pqfl.node-tesT'), sig), false);
    assert.throws(() => generateKeyPair(scheme, join(dir, scheme)), /EEXIST/, 'never overwrites a key');
  });
}

test('SPKI parsing refuses what is not an ML-DSA key', () => {
  const k = readPublicKey(join(dir, 'ML-DSA-65.pub'));
  const spki = Buffer.from(k.spki);
  const wrongOid = Buffer.from(spki);
  wrongOid[wrongOid.indexOf(Buffer.from('0609608648016503040312', 'hex')) + 10] = 0x20;
  assert.throws(() => parseSpki(wrongOid), /not an ML-DSA key \(algorithm OID 2\.16\.840\.1\.101\.3\.4\.3\.32\)/);
  assert.throws(() => parseSpki(spki.subarray(0, spki.length - 1)), /truncated/);
  assert.throws(() => encodeSpki('ML-DSA-65', Buffer.alloc(10)), /1952 bytes/);
  assert.throws(() => encodeSpki('Falcon-512', Buffer.alloc(10)), /unsupported scheme/);
});

const manifest = manifestFromWire({
  architecture: 'example',
  tensors: [{ name: 'w', shape: ['2', '2'], dtype: 'float32' }, { name: 'b', shape: ['2'], dtype: 'float32' }],
});

test('tensor parsing: the worked example\'s update bytes, in chunks that split floats', () => {
  const bytes = Buffer.from('0000003f0000a0bf000000400000003e0000803f000000bf', 'hex');
  for (const size of [1, 3, 5, 24]) {
    const r = new ModelReceiver(manifest);
    for (let at = 0; at < bytes.length; at += size) {
      r.accept(bytes.subarray(at, at + size));
    }
    const m = r.finish();
    assert.deepEqual([...m.tensors[0]], [0.5, -1.25, 2, 0.125]);
    assert.deepEqual([...m.tensors[1]], [1, -0.5]);
    assert.equal(m.digest.toString('hex'), '9d4ab9c16429c9917f2880c9c24291a738f0fd7672fad7808a1fd04c7fd54442'
      + '302c06c728452c1300c2d6165ad9bf64b6d79a11eb7c3e11b2c74528064a735a');
  }
  assert.deepEqual(encodeModel(manifest, decodeModel(manifest, bytes).tensors), bytes);
  assert.deepEqual(payloadDigest(manifest, bytes), decodeModel(manifest, bytes).digest);
});

test('tensor parsing refuses too many or too few bytes, and other dtypes', () => {
  const r = new ModelReceiver(manifest);
  assert.throws(() => r.accept(Buffer.alloc(28)), /larger than its manifest/);
  const short = new ModelReceiver(manifest);
  short.accept(Buffer.alloc(20));
  assert.throws(() => short.finish(), /ended early: 20 of 24/);
  assert.throws(() => manifestFromWire({ architecture: 'x', tensors: [{ name: 'h', shape: ['2'], dtype: 'float16' }] }),
    /float32 only/);
  assert.ok(sameManifest(manifestFromWire(manifestToWire(manifest)), manifest));
  assert.deepEqual([...chunks(Buffer.alloc(10), 4)].map((c) => c.length), [4, 4, 2]);
});

test('partitions: FROM-TO inclusive, K/N, all', () => {
  assert.deepEqual(partitionIndices('2-4', 10), [2, 3, 4]);
  assert.deepEqual(partitionIndices('1/4', 10), [1, 5, 9]);
  assert.equal(partitionIndices('all', 10).length, 10);
  assert.throws(() => partitionIndices('5-10', 10), /inside 0-9/);
  assert.throws(() => partitionIndices('x', 10), /expected all/);
});

const mlp = {
  architecture: 'mlp',
  tensors: [{ name: 'fc1.weight', shape: [8, 4] }, { name: 'fc1.bias', shape: [8] },
    { name: 'fc2.weight', shape: [3, 8] }, { name: 'fc2.bias', shape: [3] }],
};

test('the dense trainer accepts chains of Linear layers and refuses other models', () => {
  assert.deepEqual(denseStructure(mlp, 4, 3).layers, [{ in: 4, out: 8 }, { in: 8, out: 3 }]);
  const cnn = { architecture: 'cnn', tensors: [{ name: 'conv1.weight', shape: [32, 1, 3, 3] }, { name: 'conv1.bias', shape: [32] }] };
  assert.throws(() => denseStructure(cnn), /not a dense layer/);
  assert.throws(() => denseStructure(mlp, 784, 10), /does not take 784 inputs/);
});

test('training lowers the loss on a separable toy problem; the update is full weights of the same shapes', () => {
  // Three classes, each the one-hot of its feature (plus noise): learnable by the MLP.
  const n = 300;
  const x = new Float32Array(n * 4);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) {
      x[i * 4 + j] = (j === y[i] ? 1 : 0) + 0.1 * Math.sin(i * 7 + j);
    }
  }
  const split = { x, y, n };
  const init = mlp.tensors.map((t, k) => Float32Array.from({ length: t.shape.reduce((a, b) => a * b) },
    (_, i) => (k % 2 === 0 ? 0.3 * Math.sin(i * 1.3 + k) : 0)));
  const before = evaluate(mlp, init, split, 4);
  for (const optimizer of ['adam', 'sgd']) {
    const r = fit(mlp, init, split, { localEpochs: 5, batchSize: 16, learningRate: optimizer === 'adam' ? 0.01 : 0.2,
      proximalMu: 0, optimizer }, 7, 4);
    const after = evaluate(mlp, r.tensors, split, 4);
    assert.ok(after.loss < before.loss * 0.5, `${optimizer}: ${before.loss} -> ${after.loss}`);
    assert.ok(after.accuracy > 0.9, `${optimizer}: accuracy ${after.accuracy}`);
    assert.equal(r.examples, n);
    assert.deepEqual(r.tensors.map((t) => t.length), init.map((t) => t.length));
  }
  // FedProx's proximal term pulls the weights towards the global model.
  const free = fit(mlp, init, split, { localEpochs: 3, batchSize: 16, learningRate: 0.2, proximalMu: 0, optimizer: 'sgd' }, 7, 4);
  const prox = fit(mlp, init, split, { localEpochs: 3, batchSize: 16, learningRate: 0.2, proximalMu: 1, optimizer: 'sgd' }, 7, 4);
  const dist = (r) => r.tensors.reduce((s, t, k) => s + t.reduce((a, v, i) => a + (v - init[k][i]) ** 2, 0), 0);
  assert.ok(dist(prox) < dist(free));
  assert.throws(() => fit(mlp, init, split, { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'rmsprop' }, 1, 4),
    /adam or sgd/);
});
