// gRPC plumbing: the pqfl.v1.Federation stub from the repository's .proto, deadlines on every call, and the
// coordinator's refusal reason ("REASON: detail" in the status, and the trailer pqfl-reject-reason).
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = dirname(fileURLToPath(import.meta.url));
/** The protocol's single source: proto/src/main/protobuf/pqfl/v1/federation.proto of this repository. */
export const DEFAULT_PROTO = resolve(here, '../../../proto/src/main/protobuf/pqfl/v1/federation.proto');

export const SESSION_METADATA = 'pqfl-session';
export const REJECT_REASON_METADATA = 'pqfl-reject-reason';

export { grpc };

export function loadFederation(protoFile = DEFAULT_PROTO) {
  const def = protoLoader.loadSync(protoFile, {
    keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true,
  });
  return grpc.loadPackageDefinition(def).pqfl.v1.Federation;
}

/**
 * A stub for host:port. Plaintext only: Node's OpenSSL cannot verify an ML-DSA certificate nor negotiate
 * X25519MLKEM768 (README.md, "Limitations").
 */
export function connect(Federation, target) {
  return new Federation(target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
    'grpc.keepalive_time_ms': 60_000,
  });
}

export function deadline(ms) {
  return new Date(Date.now() + ms);
}

export function sessionMetadata(token) {
  const md = new grpc.Metadata();
  if (token) {
    md.set(SESSION_METADATA, token);
  }
  return md;
}

export function codeName(code) {
  return Object.keys(grpc.status).find((k) => grpc.status[k] === code) ?? String(code);
}

/** The pqfl reason of a refused call (BAD_SIGNATURE, NO_TASK, FINISHED, ...), or null. */
export function reasonOf(err) {
  const fromTrailer = err?.metadata?.get?.(REJECT_REASON_METADATA)?.[0];
  if (fromTrailer) {
    return String(fromTrailer);
  }
  const m = /^([A-Z][A-Z0-9_]+):/.exec(err?.details ?? '');
  return m ? m[1] : null;
}

/** "CODE (details)" for logs. */
export function describe(err) {
  return `${codeName(err?.code)}${err?.details ? ` (${err.details})` : ''}`;
}

/** A unary call as a promise, with a deadline. */
export function unary(stub, method, request, { metadata = new grpc.Metadata(), timeoutMs = 30_000 } = {}) {
  return new Promise((res, rej) => {
    stub[method](request, metadata, { deadline: deadline(timeoutMs) }, (err, response) => {
      if (err) {
        rej(err);
      } else {
        res(response);
      }
    });
  });
}

/** A status-shaped error for failures detected on this side. */
export function localError(code, details) {
  const e = new Error(`${codeName(code)}: ${details}`);
  e.code = code;
  e.details = details;
  e.metadata = new grpc.Metadata();
  return e;
}
