// ML-DSA keys as pqfl exchanges them: public keys as X.509 SubjectPublicKeyInfo (PEM "PUBLIC KEY" or DER), private
// keys as PKCS#8 (RFC 9881's ML-DSA private key: the 32-byte seed, the expanded key, or both), key id = the first 16
// bytes of SHA-256(SPKI DER) in lower-case hex. Signing is FIPS 204 pure ML-DSA with the empty context,
// deterministic, as pqfl signs (docs/PROTOCOL.md, "Signatures").
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

/** The ML-DSA parameter sets: id-ml-dsa-44/65/87 are 2.16.840.1.101.3.4.3.17/18/19 (FIPS 204, RFC 9881). */
export const SCHEMES = Object.freeze({
  'ML-DSA-44': { impl: ml_dsa44, oidLast: 0x11, publicKeyBytes: 1312, secretKeyBytes: 2560, signatureBytes: 2420 },
  'ML-DSA-65': { impl: ml_dsa65, oidLast: 0x12, publicKeyBytes: 1952, secretKeyBytes: 4032, signatureBytes: 3309 },
  'ML-DSA-87': { impl: ml_dsa87, oidLast: 0x13, publicKeyBytes: 2592, secretKeyBytes: 4896, signatureBytes: 4627 },
});

// 06 09 60 86 48 01 65 03 04 03 xx: the OID 2.16.840.1.101.3.4.3.xx
const OID_PREFIX = Buffer.from('06096086480165030403', 'hex');

function oidBytes(scheme) {
  return Buffer.concat([OID_PREFIX, Buffer.from([SCHEMES[scheme].oidLast])]);
}

function schemeOfOid(oid) {
  for (const [name, s] of Object.entries(SCHEMES)) {
    if (oid.equals(oidBytes(name))) {
      return name;
    }
  }
  return null;
}

function requireScheme(scheme) {
  if (!SCHEMES[scheme]) {
    throw new Error(`unsupported scheme '${scheme}': this client speaks ${Object.keys(SCHEMES).join(', ')}`);
  }
  return SCHEMES[scheme];
}

// --- minimal DER ---------------------------------------------------------------------------------------------------

function derLength(n) {
  if (n < 0x80) {
    return Buffer.from([n]);
  }
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) {
    bytes.unshift(v & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag, ...contents) {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** Reads one TLV at offset: {tag, value, end}. */
function readTlv(buf, offset, what) {
  if (offset + 2 > buf.length) {
    throw new Error(`${what}: truncated DER`);
  }
  const tag = buf[offset];
  let len = buf[offset + 1];
  let at = offset + 2;
  if (len & 0x80) {
    const k = len & 0x7f;
    if (k === 0 || k > 4 || at + k > buf.length) {
      throw new Error(`${what}: bad DER length`);
    }
    len = 0;
    for (let i = 0; i < k; i++) {
      len = len * 256 + buf[at + i];
    }
    at += k;
  }
  if (at + len > buf.length) {
    throw new Error(`${what}: truncated DER`);
  }
  return { tag, value: buf.subarray(at, at + len), end: at + len };
}

function readSequence(buf, what) {
  const items = [];
  for (let at = 0; at < buf.length;) {
    const t = readTlv(buf, at, what);
    items.push(t);
    at = t.end;
  }
  return items;
}

function algorithmScheme(algTlv, what) {
  if (algTlv.tag !== 0x30) {
    throw new Error(`${what}: no AlgorithmIdentifier`);
  }
  const [oid, params] = readSequence(algTlv.value, what);
  if (!oid || oid.tag !== 0x06 || params) {
    throw new Error(`${what}: malformed AlgorithmIdentifier (ML-DSA has no parameters)`);
  }
  const scheme = schemeOfOid(Buffer.concat([Buffer.from([0x06, oid.value.length]), oid.value]));
  if (!scheme) {
    throw new Error(`${what}: not an ML-DSA key (algorithm OID ${oidToString(oid.value)}); this client speaks `
      + `${Object.keys(SCHEMES).join(', ')}`);
  }
  return scheme;
}

function oidToString(v) {
  const parts = [Math.floor(v[0] / 40), v[0] % 40];
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    n = n * 128 + (v[i] & 0x7f);
    if (!(v[i] & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

// --- PEM ----------------------------------------------------------------------------------------------------------

export function toPem(label, derBytes) {
  const b64 = Buffer.from(derBytes).toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** PEM with the given label, or DER as it is. */
export function fromPemOrDer(data, label, what) {
  const text = Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
    const m = text.match(re);
    if (!m) {
      throw new Error(`${what}: PEM without a '${label}' block`);
    }
    return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  }
  return Buffer.from(data);
}

// --- public keys --------------------------------------------------------------------------------------------------

/** SubjectPublicKeyInfo DER of a raw ML-DSA public key. */
export function encodeSpki(scheme, rawPublicKey) {
  const s = requireScheme(scheme);
  if (rawPublicKey.length !== s.publicKeyBytes) {
    throw new Error(`${scheme} public key must be ${s.publicKeyBytes} bytes, got ${rawPublicKey.length}`);
  }
  return der(0x30, der(0x30, oidBytes(scheme)), der(0x03, Buffer.from([0]), Buffer.from(rawPublicKey)));
}

/** {scheme, raw, spki} from SubjectPublicKeyInfo DER. */
export function parseSpki(spki, what = 'public key') {
  const outer = readTlv(spki, 0, what);
  if (outer.tag !== 0x30 || outer.end !== spki.length) {
    throw new Error(`${what}: not a SubjectPublicKeyInfo`);
  }
  const [alg, bits, extra] = readSequence(outer.value, what);
  if (!alg || !bits || extra || bits.tag !== 0x03 || bits.value[0] !== 0) {
    throw new Error(`${what}: not a SubjectPublicKeyInfo`);
  }
  const scheme = algorithmScheme(alg, what);
  const raw = Buffer.from(bits.value.subarray(1));
  if (raw.length !== SCHEMES[scheme].publicKeyBytes) {
    throw new Error(`${what}: ${scheme} public key of ${raw.length} bytes, expected ${SCHEMES[scheme].publicKeyBytes}`);
  }
  return { scheme, raw, spki: Buffer.from(spki) };
}

/** First 16 bytes of SHA-256(SPKI DER), lower-case hex (docs/PROTOCOL.md, "Update statement"). */
export function keyIdOf(spki) {
  return createHash('sha256').update(spki).digest().subarray(0, 16).toString('hex');
}

export function publicKeyFromBytes(data, what = 'public key') {
  const spki = fromPemOrDer(data, 'PUBLIC KEY', what);
  const k = parseSpki(spki, what);
  return { ...k, keyId: keyIdOf(spki) };
}

export function readPublicKey(file) {
  let data;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read public key ${file}: ${e.message}`);
  }
  return publicKeyFromBytes(data, file);
}

// --- private keys -------------------------------------------------------------------------------------------------

/**
 * PKCS#8 DER of an ML-DSA key in RFC 9881's "both" form: SEQUENCE { seed OCTET STRING (32), expandedKey OCTET
 * STRING }, the form pqfl's own `keys generate` (Bouncy Castle) writes, so pqfl's tools read it too.
 */
export function encodePkcs8(scheme, seed, secretKey) {
  requireScheme(scheme);
  const privateKey = der(0x30, der(0x04, Buffer.from(seed)), der(0x04, Buffer.from(secretKey)));
  return der(0x30, Buffer.from([0x02, 0x01, 0x00]), der(0x30, oidBytes(scheme)), der(0x04, privateKey));
}

/**
 * A signing key from PKCS#8 DER: {scheme, secretKey, publicKey}. Accepts the seed form ([0] IMPLICIT OCTET STRING),
 * the expanded form (OCTET STRING) and both (SEQUENCE); the seed, when there, is authoritative and the key pair is
 * derived from it (FIPS 204 ML-DSA.KeyGen_internal).
 */
export function parsePkcs8(p8, what = 'private key') {
  const outer = readTlv(p8, 0, what);
  if (outer.tag !== 0x30) {
    throw new Error(`${what}: not PKCS#8`);
  }
  const [version, alg, key] = readSequence(outer.value, what);
  if (!version || version.tag !== 0x02 || !alg || !key || key.tag !== 0x04) {
    throw new Error(`${what}: not PKCS#8 (an encrypted key? this client reads unencrypted PKCS#8 only)`);
  }
  const scheme = algorithmScheme(alg, what);
  const s = SCHEMES[scheme];
  const inner = readTlv(key.value, 0, what);
  let seed = null;
  let expanded = null;
  if (inner.tag === 0x80) {
    seed = inner.value;
  } else if (inner.tag === 0x04) {
    expanded = inner.value;
  } else if (inner.tag === 0x30) {
    const [a, b] = readSequence(inner.value, what);
    seed = a?.value;
    expanded = b?.value;
  } else {
    throw new Error(`${what}: unknown ML-DSA private key form (tag 0x${inner.tag.toString(16)})`);
  }
  if (seed) {
    if (seed.length !== 32) {
      throw new Error(`${what}: ML-DSA seed of ${seed.length} bytes, expected 32`);
    }
    const keys = s.impl.keygen(new Uint8Array(seed));
    if (expanded && !Buffer.from(keys.secretKey).equals(Buffer.from(expanded))) {
      throw new Error(`${what}: the expanded key does not match its seed`);
    }
    return { scheme, seed: Buffer.from(seed), secretKey: keys.secretKey, publicKey: keys.publicKey };
  }
  if (expanded.length !== s.secretKeyBytes) {
    throw new Error(`${what}: ${scheme} expanded key of ${expanded.length} bytes, expected ${s.secretKeyBytes}`);
  }
  // The expanded key (FIPS 204 skEncode) holds t0 but not t1: the public key cannot be read off it, so without a
  // seed the caller needs the .pub file beside the key.
  return { scheme, seed: null, secretKey: new Uint8Array(expanded), publicKey: null };
}

/** A signer from a .key file (and, for an expanded-only key, the .pub beside it). */
export function readSigningKey(file, pubFile) {
  let data;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read private key ${file}: ${e.message}`);
  }
  if (Buffer.from(data).toString('latin1').includes('ENCRYPTED PRIVATE KEY')) {
    throw new Error(`${file}: an encrypted key; this client reads unencrypted PKCS#8 only`);
  }
  const k = parsePkcs8(fromPemOrDer(data, 'PRIVATE KEY', file), file);
  let publicKey = k.publicKey;
  if (!publicKey) {
    const pub = readPublicKey(pubFile ?? file.replace(/\.key$/, '.pub'));
    if (pub.scheme !== k.scheme) {
      throw new Error(`${file}: the public key beside it is ${pub.scheme}, the key ${k.scheme}`);
    }
    publicKey = pub.raw;
  }
  const spki = encodeSpki(k.scheme, publicKey);
  return new Signer(k.scheme, k.secretKey, publicKey, spki);
}

export class Signer {
  constructor(scheme, secretKey, publicKey, spki) {
    this.scheme = scheme;
    this.secretKey = secretKey;
    this.publicKey = Buffer.from(publicKey);
    this.spki = spki;
    this.keyId = keyIdOf(spki);
  }

  /** Pure ML-DSA, empty context, deterministic (as pqfl signs). */
  sign(message) {
    return Buffer.from(SCHEMES[this.scheme].impl.sign(new Uint8Array(message), this.secretKey,
      { extraEntropy: false }));
  }
}

/** Pure ML-DSA verification with the empty context; false (never throws) for a malformed signature. */
export function verify(scheme, rawPublicKey, message, signature) {
  const s = requireScheme(scheme);
  try {
    return s.impl.verify(new Uint8Array(signature), new Uint8Array(message), new Uint8Array(rawPublicKey));
  } catch {
    return false;
  }
}

/** A fresh key pair written as NAME.key (PKCS#8 PEM, owner-only) and NAME.pub (SPKI PEM). */
export function generateKeyPair(scheme, outName) {
  const s = requireScheme(scheme);
  const seed = randomBytes(32);
  const keys = s.impl.keygen(new Uint8Array(seed));
  const spki = encodeSpki(scheme, keys.publicKey);
  mkdirSync(dirname(outName), { recursive: true });
  writeFileSync(`${outName}.key`, toPem('PRIVATE KEY', encodePkcs8(scheme, seed, keys.secretKey)),
    { mode: 0o600, flag: 'wx' });
  writeFileSync(`${outName}.pub`, toPem('PUBLIC KEY', spki), { flag: 'wx' });
  return { scheme, keyId: keyIdOf(spki), keyFile: `${outName}.key`, pubFile: `${outName}.pub` };
}
