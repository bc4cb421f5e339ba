// The client's checks before it trains (docs/CLIENT.md, step 2), offline: a task signed by a coordinator key made
// here, then altered one way at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { NodeClient, TaskRefused } from '../src/client.js';
import { Signer, encodeSpki, keyIdOf } from '../src/keys.js';
import { taskStatement, modelStatement, TASK_KIND } from '../src/encoding.js';
import { decodeModel, encodeModel, manifestToWire } from '../src/tensors.js';

function signer(seedByte) {
  const k = ml_dsa65.keygen(new Uint8Array(32).fill(seedByte));
  return new Signer('ML-DSA-65', k.secretKey, k.publicKey, encodeSpki('ML-DSA-65', k.publicKey));
}

const coordinator = signer(1);
const impostor = signer(2);
const manifest = {
  architecture: 'mlp',
  tensors: [{ name: 'fc1.weight', shape: [2, 784] }, { name: 'fc1.bias', shape: [2] },
    { name: 'fc2.weight', shape: [10, 2] }, { name: 'fc2.bias', shape: [10] }],
};
const weights = manifest.tensors.map((t) => Float32Array.from({ length: t.shape.reduce((a, b) => a * b) },
  (_, i) => Math.sin(i)));
const bytes = encodeModel(manifest, weights);

/** A task as fetchTask assembles it; `change` alters fields before signing, `after` after. */
function makeTask({ round = 3, modelRound = 2, kind = 'TRAIN', key = coordinator, modelBytes = bytes,
  change = () => {}, after = () => {} } = {}) {
  const signedModel = decodeModel(manifest, bytes); // the coordinator signs the true model
  const header = {
    federation_id: 'fed', round: String(round), nonce: Buffer.alloc(32, 7), client_id: 'node',
    model_round: String(modelRound), deadline_unix_ms: '1767225600000', kind, secure_aggregation: false,
    manifest: manifestToWire(manifest), model_bytes: String(bytes.length),
    config: { local_epochs: 1, batch_size: 64, learning_rate: Math.fround(0.001), proximal_mu: 0, optimizer: 'adam' },
  };
  const ms = {
    federation_id: 'fed', model_round: String(modelRound), model_digest: signedModel.digest,
    parent_model_digest: Buffer.alloc(64, 1), ledger_head: Buffer.alloc(64, 2), strategy_state_digest: Buffer.alloc(0),
    receipt: [{ client_id: 'java', update_digest: Buffer.alloc(64, 3), num_examples: '5400' }],
    scheme: key.scheme, key_id: key.keyId,
  };
  change(header, ms);
  header.signature = key.sign(taskStatement({
    federationId: header.federation_id, kind: TASK_KIND[header.kind], round: header.round, nonce: header.nonce,
    clientId: header.client_id, modelRound: header.model_round, modelDigest: signedModel.digest,
    localEpochs: 1, batchSize: 64, learningRate: header.config.learning_rate, proximalMu: 0, optimizer: 'adam',
    deadlineUnixMs: header.deadline_unix_ms, scheme: key.scheme, keyId: key.keyId,
  }));
  ms.signature = key.sign(modelStatement({
    federationId: ms.federation_id, modelRound: ms.model_round, modelDigest: ms.model_digest,
    parentModelDigest: ms.parent_model_digest, ledgerHead: ms.ledger_head, strategyStateDigest: ms.strategy_state_digest,
    receipt: ms.receipt.map((r) => ({ clientId: r.client_id, updateDigest: r.update_digest, numExamples: r.num_examples })),
    scheme: ms.scheme, keyId: ms.key_id,
  }));
  after(header, ms);
  return { header, model: decodeModel(manifest, modelBytes), signature: ms };
}

function client() {
  const c = new NodeClient({
    stub: null, clientId: 'node', signer: signer(3),
    coordinatorKey: { scheme: 'ML-DSA-65', raw: coordinator.publicKey, keyId: keyIdOf(coordinator.spki) },
    dataset: { features: 784, classes: 10 }, log: () => {},
  });
  c.federationId = 'fed';
  return c;
}

test('a task signed by the pinned key over the received model is accepted', () => {
  assert.equal(client().verifyTask(makeTask()), TASK_KIND.TRAIN);
  assert.equal(client().verifyTask(makeTask({ kind: 'EVALUATE', round: 2, modelRound: 2 })), TASK_KIND.EVALUATE);
});

const refusals = {
  'a model byte changed in transit': [{ modelBytes: (() => { const b = Buffer.from(bytes); b[9] ^= 1; return b; })() },
    /task statement's signature does not verify/],
  'signed by another key': [{ key: impostor }, /task statement's signature does not verify/],
  'the task for another client': [{ change: (h) => { h.client_id = 'other'; } }, /for client 'other'/],
  'another federation': [{ change: (h) => { h.federation_id = 'elsewhere'; } }, /for federation 'elsewhere'/],
  'a learning rate changed after signing': [{ after: (h) => { h.config.learning_rate = Math.fround(0.1); } },
    /task statement's signature does not verify/],
  'a receipt changed after signing': [{ after: (_, ms) => { ms.receipt[0].num_examples = '5401'; } },
    /model statement's signature does not verify/],
  'a model statement naming another key': [{ after: (_, ms) => { ms.key_id = impostor.keyId; } },
    /not the pinned/],
  'a model digest that is not the bytes\'': [{ after: (_, ms) => { ms.model_digest = Buffer.alloc(64); } },
    /digest to/],
  'model rounds that disagree': [{ change: (_, ms) => { ms.model_round = '1'; } }, /model round 2, .* says 1/],
  'a TRAIN task on its own round\'s model': [{ round: 2, modelRound: 2 }, /TRAIN task for round 2 with a model of round 2/],
  'an unspecified kind': [{ after: (h) => { h.kind = 'TASK_KIND_UNSPECIFIED'; } }, /neither TRAIN nor EVALUATE/],
  'secure aggregation': [{ after: (h) => { h.secure_aggregation = true; } }, /secure aggregation/],
};
for (const [what, [opts, message]] of Object.entries(refusals)) {
  test(`refused: ${what}`, () => {
    assert.throws(() => client().verifyTask(makeTask(opts)), (e) => e instanceof TaskRefused && message.test(e.message));
  });
}

test('refused: an older round or model than one already accepted (a replay)', () => {
  const c = client();
  c.verifyTask(makeTask({ round: 3, modelRound: 2 }));
  assert.throws(() => c.verifyTask(makeTask({ round: 2, modelRound: 1 })), /already accepted round 3/);
  assert.equal(c.verifyTask(makeTask({ round: 3, modelRound: 2 })), TASK_KIND.TRAIN, 'the same round again is fine');
});
