// Models on the wire (docs/PROTOCOL.md, "Tensor data and the payload digest"): an ordered list of named float32
// tensors (the manifest); the wire bytes are each tensor's values, row-major, IEEE 754 binary32 little-endian,
// concatenated in manifest order; the payload digest is SHA-512(manifest encoding ‖ wire bytes).
import { payloadDigester } from './encoding.js';

const MAX_ELEMENTS = 2 ** 31 - 1;

/** A manifest from its protobuf form ({architecture, tensors: [{name, shape: [int64 as string], dtype}]}). */
export function manifestFromWire(m) {
  if (!m) {
    throw new Error('no manifest');
  }
  const tensors = (m.tensors ?? []).map((t) => {
    const dtype = t.dtype === '' || t.dtype === undefined ? 'float32' : t.dtype;
    if (dtype !== 'float32') {
      throw new Error(`tensor ${t.name}: dtype ${dtype}; protocol version 1 knows float32 only`);
    }
    const shape = (t.shape ?? []).map((d) => {
      const n = Number(d);
      if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
        throw new Error(`tensor ${t.name}: bad dimension ${d}`);
      }
      return n;
    });
    return { name: t.name, shape, dtype: 'float32' };
  });
  const manifest = { architecture: m.architecture ?? '', tensors };
  if (totalElements(manifest) > MAX_ELEMENTS) {
    throw new Error('model too large for this client');
  }
  return manifest;
}

export function manifestToWire(manifest) {
  return {
    architecture: manifest.architecture,
    tensors: manifest.tensors.map((t) => ({ name: t.name, shape: t.shape.map(String), dtype: 'float32' })),
  };
}

export function elementCount(t) {
  return t.shape.reduce((a, b) => a * b, 1);
}

export function totalElements(manifest) {
  return manifest.tensors.reduce((a, t) => a + elementCount(t), 0);
}

export function sameManifest(a, b) {
  return a.architecture === b.architecture && a.tensors.length === b.tensors.length
    && a.tensors.every((t, i) => t.name === b.tensors[i].name && t.shape.length === b.tensors[i].shape.length
      && t.shape.every((d, j) => d === b.tensors[i].shape[j]));
}

/**
 * Receives a model's wire bytes chunk by chunk (any chunk boundaries, also inside a float), digesting and decoding
 * them in one pass; refuses more bytes than the manifest describes.
 */
export class ModelReceiver {
  constructor(manifest) {
    this.manifest = manifest;
    this.totalBytes = totalElements(manifest) * 4;
    this.flat = new Float32Array(totalElements(manifest));
    this.bytes = Buffer.from(this.flat.buffer);
    this.view = new DataView(this.flat.buffer);
    this.received = 0;
    this.hash = payloadDigester(manifest);
  }

  accept(chunk) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.received + buf.length > this.totalBytes) {
      throw new Error(`model larger than its manifest (${this.totalBytes} bytes)`);
    }
    this.hash.update(buf);
    // Copied as bytes; finish() reads them as little-endian floats (a no-op on a little-endian host).
    buf.copy(this.bytes, this.received);
    this.received += buf.length;
  }

  isComplete() {
    return this.received === this.totalBytes;
  }

  /** {manifest, tensors: [Float32Array per tensor], digest}. */
  finish() {
    if (!this.isComplete()) {
      throw new Error(`model stream ended early: ${this.received} of ${this.totalBytes} bytes`);
    }
    if (!littleEndianHost()) {
      for (let i = 0; i < this.flat.length; i++) {
        this.flat[i] = this.view.getFloat32(i * 4, true);
      }
    }
    return { manifest: this.manifest, tensors: split(this.manifest, this.flat), digest: this.hash.digest() };
  }
}

function littleEndianHost() {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function split(manifest, flat) {
  const out = [];
  let at = 0;
  for (const t of manifest.tensors) {
    const n = elementCount(t);
    out.push(flat.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Decodes complete wire bytes into tensors. */
export function decodeModel(manifest, bytes) {
  const r = new ModelReceiver(manifest);
  r.accept(bytes);
  return r.finish();
}

/** The wire bytes of tensors in manifest order (little-endian float32). */
export function encodeModel(manifest, tensors) {
  const out = Buffer.alloc(totalElements(manifest) * 4);
  let at = 0;
  manifest.tensors.forEach((t, i) => {
    const v = tensors[i];
    if (v.length !== elementCount(t)) {
      throw new Error(`tensor ${t.name}: ${v.length} values, the manifest says ${elementCount(t)}`);
    }
    for (let j = 0; j < v.length; j++, at += 4) {
      out.writeFloatLE(v[j], at);
    }
  });
  return out;
}

/** Splits bytes into chunks of at most chunkBytes (a multiple of 4). */
export function* chunks(bytes, chunkBytes = 1 << 20) {
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    yield bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
  }
}
