// The canonical statements of docs/PROTOCOL.md ("Encoding"): u8/u16/u32/u64 big-endian, bytes = u32 length then
// the bytes, string = bytes of the UTF-8 encoding. No optional fields, no varints: one encoding per statement.
import { createHash } from 'node:crypto';

const U32_MAX = 0xffffffffn;
const U64_MAX = 0xffffffffffffffffn;

/** Appends statement fields; {@link finish} returns the bytes. */
export class StatementWriter {
  constructor() {
    this.parts = [];
    this.length = 0;
  }

  #push(buf) {
    this.parts.push(buf);
    this.length += buf.length;
    return this;
  }

  u8(v) {
    const n = checkInt(v, 0xffn, 'u8');
    return this.#push(Buffer.from([Number(n)]));
  }

  u16(v) {
    const n = checkInt(v, 0xffffn, 'u16');
    const b = Buffer.alloc(2);
    b.writeUInt16BE(Number(n));
    return this.#push(b);
  }

  u32(v) {
    const n = checkInt(v, U32_MAX, 'u32');
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(n));
    return this.#push(b);
  }

  u64(v) {
    const n = checkInt(v, U64_MAX, 'u64');
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    return this.#push(b);
  }

  /** IEEE 754 binary64 bits as a u64. */
  f64(v) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.#push(b);
  }

  /** IEEE 754 binary32 bits as a u32. */
  f32(v) {
    const b = Buffer.alloc(4);
    b.writeFloatBE(v);
    return this.#push(b);
  }

  bytes(v) {
    const buf = Buffer.from(v ?? []);
    this.u32(buf.length);
    return this.#push(buf);
  }

  string(s) {
    if (typeof s !== 'string') {
      throw new TypeError(`expected a string, got ${typeof s}`);
    }
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  finish() {
    return Buffer.concat(this.parts, this.length);
  }
}

function checkInt(v, max, type) {
  let n;
  try {
    n = BigInt(v);
  } catch {
    throw new RangeError(`${type}: not an integer: ${v}`);
  }
  if (n < 0n || n > max) {
    throw new RangeError(`${type} out of range: ${v}`);
  }
  return n;
}

export const TASK_KIND = Object.freeze({ TRAIN: 1, EVALUATE: 2 });

/** The manifest's canonical encoding (PROTOCOL.md, "Tensor data and the payload digest"). */
export function manifestEncoding(manifest) {
  const w = new StatementWriter().string('pqfl.manifest').u16(1).string(manifest.architecture)
    .u32(manifest.tensors.length);
  for (const t of manifest.tensors) {
    if ((t.dtype ?? 'float32') !== 'float32') {
      throw new Error(`tensor ${t.name}: dtype ${t.dtype} is not float32, the only dtype of protocol version 1`);
    }
    w.string(t.name).string('float32').u32(t.shape.length);
    for (const d of t.shape) {
      w.u32(d);
    }
  }
  return w.finish();
}

/** SHA-512(manifest encoding ‖ wire bytes), incrementally: update() with the wire bytes, then digest(). */
export function payloadDigester(manifest) {
  const h = createHash('sha512');
  h.update(manifestEncoding(manifest));
  return h;
}

export function payloadDigest(manifest, wireBytes) {
  return payloadDigester(manifest).update(wireBytes).digest();
}

export function updateStatement(f) {
  return new StatementWriter()
    .string('pqfl.update-statement').u16(1)
    .string(f.federationId).u64(f.round).bytes(f.nonce).bytes(f.baseModelDigest)
    .string(f.clientId).string(f.keyId).string(f.scheme)
    .bytes(f.updateDigest).u64(f.numExamples)
    .finish();
}

export function sessionStatement(f) {
  return new StatementWriter()
    .string('pqfl.session-statement').u16(1)
    .string(f.federationId).string(f.coordinatorKeyId).string(f.clientId)
    .string(f.keyId).string(f.scheme).bytes(f.challenge)
    .finish();
}

export function taskStatement(f) {
  if (f.kind !== TASK_KIND.TRAIN && f.kind !== TASK_KIND.EVALUATE) {
    throw new Error(`task kind ${f.kind} is neither TRAIN (1) nor EVALUATE (2)`);
  }
  return new StatementWriter()
    .string('pqfl.task-statement').u16(2)
    .string(f.federationId).u8(f.kind).u64(f.round).bytes(f.nonce).string(f.clientId)
    .u64(f.modelRound).bytes(f.modelDigest)
    .u32(f.localEpochs).u32(f.batchSize).f32(f.learningRate).f32(f.proximalMu)
    .string(f.optimizer).u64(f.deadlineUnixMs)
    .string(f.scheme).string(f.keyId)
    .finish();
}

/** Receipt entries are sorted by client id in the byte order of UTF-8 (PROTOCOL.md, "Model statement"). */
export function modelStatement(f) {
  const receipt = [...f.receipt].sort((a, b) => Buffer.compare(Buffer.from(a.clientId, 'utf8'),
    Buffer.from(b.clientId, 'utf8')));
  const w = new StatementWriter()
    .string('pqfl.model-statement').u16(2)
    .string(f.federationId).u64(f.modelRound).bytes(f.modelDigest).bytes(f.parentModelDigest)
    .bytes(f.ledgerHead).bytes(f.strategyStateDigest)
    .u32(receipt.length);
  for (const r of receipt) {
    w.string(r.clientId).bytes(r.updateDigest).u64(r.numExamples);
  }
  return w.string(f.scheme).string(f.keyId).finish();
}

const METRIC_NAME = /^[a-z0-9_.]{1,64}$/;

/** Metrics strictly ascending by name (byte order); names [a-z0-9_.]{1,64}, values finite within ±1e12. */
export function evaluationStatement(f) {
  const names = Object.keys(f.metrics ?? {}).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (names.length > 32) {
    throw new Error(`at most 32 metrics, got ${names.length}`);
  }
  checkFinite('loss', f.loss);
  const w = new StatementWriter()
    .string('pqfl.evaluation-statement').u16(1)
    .string(f.federationId).u64(f.round).bytes(f.nonce).string(f.clientId).bytes(f.modelDigest)
    .f64(f.loss).u64(f.numExamples).u32(names.length);
  for (const name of names) {
    if (!METRIC_NAME.test(name)) {
      throw new Error(`metric name '${name}' is not [a-z0-9_.]{1,64}`);
    }
    checkFinite(name, f.metrics[name]);
    w.string(name).f64(f.metrics[name]);
  }
  return w.string(f.scheme).string(f.keyId).finish();
}

export function enrollmentStatement(f) {
  return new StatementWriter()
    .string('pqfl.enrollment-statement').u16(1)
    .string(f.federationId).string(f.clientId).bytes(f.challenge).string(f.keyId)
    .bytes(createHash('sha512').update(Buffer.from(f.token, 'utf8')).digest())
    .finish();
}

function checkFinite(name, v) {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 1e12) {
    throw new Error(`${name} must be finite and within ±1e12: ${v}`);
  }
}
