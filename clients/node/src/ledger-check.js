#!/usr/bin/env node
// Reads a `pqfl ledger export` (JSON lines, docs/AUDIT.md) and re-verifies, with noble's ML-DSA and nothing of pqfl's
// Java code, every signed statement it holds (updates, evaluations, models) with the public key recorded for it.
// Prints one line per entry kind / client / reason, and a JSON summary on the last line:
//   node src/ledger-check.js ledger.jsonl [--coordinator-key coordinator.pub]
// Exit 1 when a signature does not verify, or the run's coordinator key is not the pinned one.
import { readFileSync } from 'node:fs';
import { publicKeyFromBytes, readPublicKey, verify } from './keys.js';

const [file, flag, pinnedFile] = process.argv.slice(2);
if (!file || (flag && flag !== '--coordinator-key')) {
  console.error('usage: node src/ledger-check.js LEDGER.jsonl [--coordinator-key FILE]');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const run = lines.find((l) => l.type === 'run');
const problems = [];
if (!run) {
  problems.push('no run record');
}
if (pinnedFile && run) {
  const pinned = readPublicKey(pinnedFile);
  if (pinned.keyId !== run.coordinatorKeyId) {
    problems.push(`the run's coordinator key is ${run.coordinatorKeyId}, not the pinned ${pinned.keyId}`);
  }
}
const counts = {};
let verified = 0;
for (const e of lines.filter((l) => l.type === 'entry')) {
  const key = [e.kind, e.clientId ?? '-', e.reason ?? '-'].join(' ');
  counts[key] = (counts[key] ?? 0) + 1;
  if (e.statement && e.signature && e.publicKey) {
    const pub = publicKeyFromBytes(Buffer.from(e.publicKey, 'base64'), `entry ${e.seq}`);
    if (pub.keyId !== e.keyId) {
      problems.push(`entry ${e.seq}: key id ${e.keyId} does not match its public key (${pub.keyId})`);
    }
    if (e.kind.endsWith('_REJECTED')) {
      continue; // an attempted statement whose signature was refused: nothing to verify
    }
    if (!verify(pub.scheme, pub.raw, Buffer.from(e.statement, 'base64'), Buffer.from(e.signature, 'base64'))) {
      problems.push(`entry ${e.seq} (${e.kind}, ${e.clientId ?? 'coordinator'}): the signature does not verify`);
    } else {
      verified++;
    }
  }
}
for (const [k, n] of Object.entries(counts)) {
  console.log(`  ${n} × ${k}`);
}
for (const p of problems) {
  console.log(`  problem: ${p}`);
}
console.log(JSON.stringify({ verified, problems: problems.length, counts }));
process.exit(problems.length ? 1 : 0);
