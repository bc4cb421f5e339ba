// The Node client against the protocol's published test vectors and worked examples (docs/PROTOCOL.md,
// docs/test-vectors/statements.json, proto/src/test/resources/worked-example/): noble's ML-DSA verifies what
// Bouncy Castle signed, and the statements rebuilt here from their fields are byte for byte the Java ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import {
  updateStatement, sessionStatement, taskStatement, evaluationStatement, manifestEncoding, payloadDigest,
  modelStatement, StatementWriter, TASK_KIND,
} from '../src/encoding.js';
import { verify, readPublicKey, readSigningKey, parsePkcs8, fromPemOrDer } from '../src/keys.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const vectors = JSON.parse(readFileSync(resolve(root, 'docs/test-vectors/statements.json'), 'utf8'));
const example = resolve(root, 'proto/src/test/resources/worked-example');
const expected = Object.fromEntries(readFileSync(resolve(example, 'expected.properties'), 'utf8').split('\n')
  .filter((l) => l.includes('=') && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

const h = (s) => Buffer.from(s, 'hex');
const vector = (name) => {
  const v = vectors.vectors.find((x) => x.name === name);
  assert.ok(v, `vector ${name}`);
  return v;
};
const seq = (from, n) => Buffer.from(Array.from({ length: n }, (_, i) => from + i));

// The worked examples' fields (docs/PROTOCOL.md, "Worked examples").
const manifest = {
  architecture: 'example',
  tensors: [{ name: 'w', shape: [2, 2], dtype: 'float32' }, { name: 'b', shape: [2], dtype: 'float32' }],
};
const updateBytes = h('0000003f0000a0bf000000400000003e0000803f000000bf');
const ALICE_KEY = '80e1b39740c8be95677ec2ad718010a3';
const COORDINATOR_KEY = '1b8a2ce0c2d07b7c555b5ff232d903d1';

test('the vector file is the format this test reads', () => {
  assert.equal(vectors.format, 'pqfl-test-vectors/1');
  assert.ok(vectors.vectors.length >= 8);
});

for (const v of vectors.vectors) {
  test(`noble ML-DSA: vector '${v.name}' ${v.valid ? 'verifies' : 'does not verify'}`, () => {
    assert.equal(verify(v.scheme, h(v.publicKeyRaw), h(v.statement), h(v.signature)), v.valid);
  });
}

test('altering any part of a valid vector makes it fail', () => {
  const v = vector('session');
  const pk = h(v.publicKeyRaw);
  const st = h(v.statement);
  const sig = h(v.signature);
  assert.ok(verify(v.scheme, pk, st, sig));
  for (const at of [0, 17, st.length - 1]) {
    const s2 = Buffer.from(st);
    s2[at] ^= 0x80;
    assert.equal(verify(v.scheme, pk, s2, sig), false, `statement byte ${at}`);
  }
  const sig2 = Buffer.from(sig);
  sig2[100] ^= 1;
  assert.equal(verify(v.scheme, pk, st, sig2), false);
  assert.equal(verify(v.scheme, pk, st, sig.subarray(0, sig.length - 1)), false, 'a short signature');
  assert.equal(verify('ML-DSA-65', pk, st, sig), false, 'another parameter set');
  // The pure variant with the empty context: the same signature is not valid under a non-empty context.
  assert.equal(verify(v.scheme, pk, Buffer.concat([Buffer.from([0, 0]), st]), sig), false);
});

test('manifest encoding and payload digests of the worked example', () => {
  assert.equal(manifestEncoding(manifest).toString('hex'), expected.manifest);
  assert.equal(payloadDigest(manifest, updateBytes).toString('hex'), expected.updateDigest);
  assert.equal(payloadDigest(manifest, Buffer.alloc(24)).toString('hex'), expected.baseModelDigest);
});

test('update statement rebuilt from its fields equals the vector byte for byte', () => {
  const st = updateStatement({
    federationId: 'demo-federation', round: 1, nonce: seq(0, 32), baseModelDigest: h(expected.baseModelDigest),
    clientId: 'alice', keyId: ALICE_KEY, scheme: 'ML-DSA-44', updateDigest: payloadDigest(manifest, updateBytes),
    numExamples: 600,
  });
  assert.equal(st.length, 292);
  assert.equal(st.toString('hex'), vector('update').statement);
  assert.equal(st.toString('hex'), expected.statement);
  // The altered vector claims 601 examples: the same fields with 601 give its statement.
  const altered = updateStatement({
    federationId: 'demo-federation', round: 1, nonce: seq(0, 32), baseModelDigest: h(expected.baseModelDigest),
    clientId: 'alice', keyId: ALICE_KEY, scheme: 'ML-DSA-44', updateDigest: h(expected.updateDigest),
    numExamples: 601,
  });
  assert.equal(altered.toString('hex'), vector('update-example-count-altered').statement);
});

test('session statement rebuilt from its fields equals the vector', () => {
  const st = sessionStatement({
    federationId: 'demo-federation', coordinatorKeyId: COORDINATOR_KEY, clientId: 'alice', keyId: ALICE_KEY,
    scheme: 'ML-DSA-44', challenge: seq(0xa0, 32),
  });
  assert.equal(st.length, 177);
  assert.equal(st.toString('hex'), vector('session').statement);
});

test('task statements (TRAIN and EVALUATE) rebuilt from their fields equal the vectors', () => {
  const fields = {
    federationId: 'demo-federation', kind: TASK_KIND.TRAIN, round: 1, nonce: seq(0, 32), clientId: 'alice',
    modelRound: 0, modelDigest: h(expected.baseModelDigest), localEpochs: 1, batchSize: 32,
    // As protobufjs hands over a proto float: the double nearest to the binary32 value 0x3a83126f.
    learningRate: Math.fround(0.001), proximalMu: 0, optimizer: 'adam', deadlineUnixMs: '1767225600000',
    scheme: 'ML-DSA-44', keyId: COORDINATOR_KEY,
  };
  const st = taskStatement(fields);
  assert.equal(st.length, 255);
  assert.equal(st.toString('hex'), vector('task').statement);
  assert.equal(st.toString('hex'), expected['task.statement']);
  assert.equal(st.subarray(0x17 + 2 + 19, 0x17 + 2 + 20)[0], 1, 'the kind byte');
  const evaluate = taskStatement({ ...fields, kind: TASK_KIND.EVALUATE, modelRound: 1,
    modelDigest: h(expected.updateDigest) });
  assert.equal(evaluate.toString('hex'), expected['evaluateTask.statement']);
  assert.throws(() => taskStatement({ ...fields, kind: 0 }), /neither TRAIN/);
});

test('evaluation statement rebuilt from its fields equals the vector (metrics sorted by name)', () => {
  const st = evaluationStatement({
    federationId: 'demo-federation', round: 1, nonce: seq(0, 32), clientId: 'alice',
    modelDigest: h(expected.updateDigest), loss: 0.25, numExamples: 200, metrics: { mae: 0.5, accuracy: 0.875 },
    scheme: 'ML-DSA-44', keyId: ALICE_KEY,
  });
  assert.equal(st.length, 275);
  assert.equal(st.toString('hex'), vector('evaluation').statement);
  assert.throws(() => evaluationStatement({
    federationId: 'f', round: 1, nonce: seq(0, 32), clientId: 'a', modelDigest: Buffer.alloc(64), loss: NaN,
    numExamples: 1, metrics: {}, scheme: 'ML-DSA-44', keyId: ALICE_KEY,
  }), /finite/);
  assert.throws(() => evaluationStatement({
    federationId: 'f', round: 1, nonce: seq(0, 32), clientId: 'a', modelDigest: Buffer.alloc(64), loss: 1,
    numExamples: 1, metrics: { 'Bad-Name': 1 }, scheme: 'ML-DSA-44', keyId: ALICE_KEY,
  }), /metric name/);
});

test('model statement: the documented layout, receipts sorted by client id in UTF-8 byte order', () => {
  const d = (b) => Buffer.alloc(64, b);
  const st = modelStatement({
    federationId: 'fed', modelRound: 2, modelDigest: d(1), parentModelDigest: d(2), ledgerHead: d(3),
    strategyStateDigest: Buffer.alloc(0),
    receipt: [{ clientId: 'é', updateDigest: d(4), numExamples: 7 }, { clientId: 'z', updateDigest: d(5), numExamples: 9 }],
    scheme: 'ML-DSA-65', keyId: COORDINATOR_KEY,
  });
  const want = new StatementWriter().string('pqfl.model-statement').u16(2).string('fed').u64(2).bytes(d(1))
    .bytes(d(2)).bytes(d(3)).bytes(Buffer.alloc(0)).u32(2)
    .string('z').bytes(d(5)).u64(9).string('é').bytes(d(4)).u64(7) // 'z' (7a) sorts before 'é' (c3 a9)
    .string('ML-DSA-65').string(COORDINATOR_KEY).finish();
  assert.equal(st.toString('hex'), want.toString('hex'));
});

test('encoding: integer fields are big-endian and range-checked', () => {
  const b = new StatementWriter().u16(0x0102).u32(0x03040506).u64('18446744073709551615').finish();
  assert.equal(b.toString('hex'), '010203040506ffffffffffffffff');
  assert.throws(() => new StatementWriter().u64(-1), RangeError);
  assert.throws(() => new StatementWriter().u32(2 ** 32), RangeError);
  assert.throws(() => new StatementWriter().u16(1.5), RangeError);
});

test('the worked-example keys: SPKI parse, raw key, key id', () => {
  const alice = readPublicKey(resolve(example, 'client.pub'));
  assert.equal(alice.scheme, 'ML-DSA-44');
  assert.equal(alice.keyId, ALICE_KEY);
  assert.equal(alice.keyId, expected.keyId);
  assert.equal(alice.raw.toString('hex'), vector('update').publicKeyRaw);
  const coordinator = readPublicKey(resolve(example, 'coordinator.pub'));
  assert.equal(coordinator.keyId, COORDINATOR_KEY);
  assert.equal(coordinator.raw.toString('hex'), vector('task').publicKeyRaw);
});

test('PKCS#8 from pqfl (Bouncy Castle): signing deterministically reproduces the published signatures', () => {
  const signer = readSigningKey(resolve(example, 'client.key'));
  assert.equal(signer.scheme, 'ML-DSA-44');
  assert.equal(signer.keyId, ALICE_KEY);
  assert.equal(signer.sign(h(vector('update').statement)).toString('hex'), vector('update').signature);
  assert.equal(signer.sign(h(vector('session').statement)).toString('hex'), vector('session').signature);
  const coordinator = readSigningKey(resolve(example, 'coordinator.key'));
  assert.equal(coordinator.keyId, COORDINATOR_KEY);
  assert.equal(coordinator.sign(h(vector('task').statement)).toString('hex'), vector('task').signature);
});

test('PKCS#8 refuses a key whose expanded form does not match its seed', () => {
  const der = fromPemOrDer(readFileSync(resolve(example, 'client.key')), 'PRIVATE KEY', 'client.key');
  const bad = Buffer.from(der);
  bad[bad.length - 1] ^= 1; // last byte of the expanded key
  assert.throws(() => parsePkcs8(bad), /does not match its seed/);
});
