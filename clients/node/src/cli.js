#!/usr/bin/env node
// pqfl Node.js client: `keygen` makes an ML-DSA key pair; `run` joins a federation (README.md).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { generateKeyPair, readSigningKey, readPublicKey, SCHEMES } from './keys.js';
import { loadIdxDataset, DEFAULT_DATA } from './data.js';
import { loadFederation, connect, DEFAULT_PROTO } from './rpc.js';
import { NodeClient } from './client.js';

const USAGE = `Usage:
  node src/cli.js keygen --out NAME [--scheme ML-DSA-65]
      writes NAME.key (PKCS#8 PEM, owner-only) and NAME.pub (X.509 SubjectPublicKeyInfo PEM; give it to the
      operator: ./pqfl trust add --trust-dir DIR ID NAME.pub)
  node src/cli.js run --coordinator HOST:PORT --plaintext --client-id ID --key FILE --coordinator-key FILE
      [--data DIR] [--partition all|FROM-TO|K/N] [--eval-fraction 0.1] [--poll 20] [--max-rounds N]
      [--timeout SECONDS] [--tamper] [--state-file FILE] [--enroll-token-file FILE] [--seed N] [--proto FILE]

Exit codes: 0 done (federation finished or --max-rounds reached; with --tamper: every tampered update was refused),
1 error, 2 bad command line, 3 an update was refused (with --tamper: a tampered update was accepted).`;

function usageError(message) {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function stamp() {
  return new Date().toISOString();
}

function keygen(args) {
  const { values } = parseArgs({
    args, options: { out: { type: 'string' }, scheme: { type: 'string', default: 'ML-DSA-65' } }, strict: true,
  });
  if (!values.out) {
    usageError('keygen needs --out NAME');
  }
  if (!SCHEMES[values.scheme]) {
    usageError(`unknown scheme ${values.scheme}; known: ${Object.keys(SCHEMES).join(', ')}`);
  }
  const k = generateKeyPair(values.scheme, values.out);
  console.log(`Generated ${k.scheme} key ${k.keyId}\n  private: ${k.keyFile} (unencrypted, owner-only)\n  public:  `
    + `${k.pubFile}`);
}

async function run(args) {
  const { values } = parseArgs({
    args,
    options: {
      coordinator: { type: 'string' },
      plaintext: { type: 'boolean', default: false },
      'tls-ca': { type: 'string' },
      'client-id': { type: 'string' },
      key: { type: 'string' },
      'coordinator-key': { type: 'string' },
      data: { type: 'string', default: DEFAULT_DATA },
      partition: { type: 'string', default: 'all' },
      'eval-fraction': { type: 'string', default: '0.1' },
      poll: { type: 'string', default: '20' },
      'max-rounds': { type: 'string', default: '0' },
      timeout: { type: 'string', default: '0' },
      tamper: { type: 'boolean', default: false },
      'state-file': { type: 'string' },
      'enroll-token-file': { type: 'string' },
      seed: { type: 'string', default: '1' },
      proto: { type: 'string', default: DEFAULT_PROTO },
    },
    strict: true,
  });
  for (const required of ['coordinator', 'client-id', 'key', 'coordinator-key']) {
    if (!values[required]) {
      usageError(`--${required} is required`);
    }
  }
  if (values['tls-ca']) {
    usageError('--tls-ca is not supported: Node 20\'s OpenSSL 3.0 can neither verify the coordinator\'s ML-DSA '
      + 'certificate nor negotiate X25519MLKEM768; run the coordinator with --plaintext and give --plaintext here '
      + '(updates and models are still signed and verified; see README.md, "Limitations")');
  }
  if (!values.plaintext) {
    usageError('give --plaintext: this client speaks unencrypted gRPC only (README.md, "Limitations")');
  }
  const num = (name, min, integer = true) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      usageError(`--${name} ${values[name]}: expected a${integer ? 'n integer' : ' number'} >= ${min}`);
    }
    return v;
  };
  const pollSeconds = num('poll', 1, false);
  const maxRounds = num('max-rounds', 0);
  const timeoutSeconds = num('timeout', 0, false);
  const evalFraction = num('eval-fraction', 0, false);
  const seed = num('seed', 0);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(values['client-id'])) {
    usageError(`--client-id ${values['client-id']}: use letters, digits, '.', '_' and '-'`);
  }
  if (pollSeconds > 30) {
    usageError('--poll is at most 30 seconds (the coordinator waits at most 30 s)');
  }

  const log = (line) => console.log(`${stamp()} [${values['client-id']}] ${line}`);
  const signer = readSigningKey(values.key);
  const coordinatorKey = readPublicKey(values['coordinator-key']);
  const enrollToken = values['enroll-token-file']
    ? readFileSync(values['enroll-token-file'], 'utf8').split(/\r?\n/)[0].trim() : null;
  const t0 = Date.now();
  const dataset = loadIdxDataset(values.data, values.partition, evalFraction);
  log(`data ${values.data} partition ${values.partition}: ${dataset.train.n} training and ${dataset.eval.n} held-out `
    + `examples (${Date.now() - t0} ms); key ${signer.scheme} ${signer.keyId}; pinned coordinator key `
    + `${coordinatorKey.scheme} ${coordinatorKey.keyId}`);
  log('warning: plaintext gRPC: the channel is not confidential (updates and models are still signed and verified)');
  if (values.tamper) {
    log('--tamper: every update is altered after it is signed; the coordinator must refuse it (BAD_SIGNATURE)');
  }

  const Federation = loadFederation(values.proto);
  const stub = connect(Federation, values.coordinator);
  const client = new NodeClient({
    stub, clientId: values['client-id'], signer, coordinatorKey, dataset, pollSeconds, maxRounds,
    timeoutSeconds, tamper: values.tamper, stateFile: values['state-file'], enrollToken, seed, log,
  });
  try {
    const counts = await client.run();
    if (values.tamper) {
      if (counts.accepted > 0) {
        log(`FAIL: ${counts.accepted} tampered update(s) were ACCEPTED`);
        return 3;
      }
      return 0;
    }
    return counts.refused > 0 ? 3 : 0;
  } finally {
    stub.close();
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === 'keygen') {
      keygen(rest);
      return 0;
    }
    if (command === 'run') {
      return await run(rest);
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE);
      return 0;
    }
    usageError(command ? `unknown command '${command}'` : 'no command');
  } catch (e) {
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
      || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      usageError(e.message);
    }
    console.error(`${stamp()} error: ${e.message}`);
    return 1;
  }
  return 0;
}

process.exit(await main());
