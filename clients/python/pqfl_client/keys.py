"""Key files as pqfl writes them (docs/CRYPTO.md, "Key files"; docs/IDENTITY.md).

`NAME.pub`: PEM PUBLIC KEY, an X.509 SubjectPublicKeyInfo. `NAME.key`: PEM PRIVATE KEY, PKCS#8. The key id is the
first 16 bytes of SHA-256 over the SubjectPublicKeyInfo DER, as 32 lower-case hex characters.

Only the DER this needs is parsed here (a few nested SEQUENCEs, OIDs, OCTET and BIT STRINGs); no cryptography.
ML-DSA private keys come in the three forms of the IETF ML-DSA key format: the 32-byte seed ([0] IMPLICIT), the
FIPS 204 expanded key (OCTET STRING), or both (SEQUENCE { seed, expandedKey }: what pqfl / Bouncy Castle write).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# OIDs (dotted) -> pqfl scheme names
OID_SCHEMES = {
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
    "1.3.101.112": "Ed25519",
}
SCHEME_OIDS = {v: k for k, v in OID_SCHEMES.items()}
# Raw public key and signature sizes (FIPS 204 table 2; RFC 8032)
PUBLIC_KEY_SIZES = {"ML-DSA-44": 1312, "ML-DSA-65": 1952, "ML-DSA-87": 2592, "Ed25519": 32}
EXPANDED_KEY_SIZES = {"ML-DSA-44": 2560, "ML-DSA-65": 4032, "ML-DSA-87": 4896}


class KeyFormatError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Minimal DER


def _der_read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, contents, next position) of the TLV at pos."""
    if pos + 2 > len(data):
        raise KeyFormatError("DER truncated")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise KeyFormatError("DER length malformed")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise KeyFormatError("DER truncated")
    return tag, data[pos:pos + length], pos + length


def _der_children(contents: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(contents):
        tag, value, pos = _der_read(contents, pos)
        out.append((tag, value))
    return out


def _der_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + length + value


def _oid_decode(value: bytes) -> str:
    if not value:
        raise KeyFormatError("empty OID")
    first = value[0]
    parts = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    n = 0
    for b in value[1:]:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(str(n))
            n = 0
    return ".".join(parts)


def _oid_encode(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * nums[0] + nums[1]])
    for n in nums[2:]:
        enc = [n & 0x7F]
        n >>= 7
        while n:
            enc.append(0x80 | (n & 0x7F))
            n >>= 7
        out.extend(reversed(enc))
    return bytes(out)


# ---------------------------------------------------------------------------------------------------------------
# PEM


def pem_blocks(text: str) -> list[tuple[str, bytes]]:
    blocks = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", text, re.S)
    out = []
    for label, body in blocks:
        try:
            out.append((label, base64.b64decode("".join(body.split()), validate=True)))
        except ValueError as e:
            raise KeyFormatError(f"bad base64 in the PEM {label} block: {e}") from None
    return out


def _read_pem(path: Path, expected: tuple[str, ...]) -> tuple[str, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise KeyFormatError(f"{path}: cannot read ({e.strerror})") from None
    if len(raw) > 1 << 20:
        raise KeyFormatError(f"{path}: over 1 MiB, not a key file")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFormatError(f"{path}: not a PEM file (binary data; expected {' or '.join(expected)})") from None
    blocks = pem_blocks(text)
    if not blocks:
        raise KeyFormatError(f"{path}: no PEM block (expected {' or '.join(expected)})")
    label, der = blocks[0]
    if label == "ENCRYPTED PRIVATE KEY":
        raise KeyFormatError(f"{path}: an encrypted private key; this client reads unencrypted PKCS#8 only "
                             f"(decrypt a copy for it, e.g. on a tmpfs, or generate the key without a password)")
    if label not in expected:
        raise KeyFormatError(f"{path}: holds a {label}; expected {' or '.join(expected)}")
    return label, der


# ---------------------------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class PublicKey:
    scheme: str
    raw: bytes          # the raw public key (the SPKI's BIT STRING contents)
    spki: bytes         # the SubjectPublicKeyInfo DER

    @property
    def key_id(self) -> str:
        return key_id(self.spki)

    @staticmethod
    def from_spki(der: bytes, where: str = "public key") -> "PublicKey":
        try:
            tag, body, end = _der_read(der, 0)
            if tag != 0x30 or end != len(der):
                raise KeyFormatError("not a DER SEQUENCE")
            kids = _der_children(body)
            if len(kids) != 2 or kids[0][0] != 0x30 or kids[1][0] != 0x03:
                raise KeyFormatError("not a SubjectPublicKeyInfo")
            alg = _der_children(kids[0][1])
            oid = _oid_decode(alg[0][1])
        except KeyFormatError as e:
            raise KeyFormatError(f"{where}: {e}") from None
        scheme = OID_SCHEMES.get(oid)
        if scheme is None:
            raise KeyFormatError(f"{where}: key algorithm {oid} is not one this client supports "
                                 f"({', '.join(sorted(SCHEME_OIDS))})")
        bits = kids[1][1]
        if not bits or bits[0] != 0:
            raise KeyFormatError(f"{where}: BIT STRING with unused bits")
        raw = bits[1:]
        if len(raw) != PUBLIC_KEY_SIZES[scheme]:
            raise KeyFormatError(f"{where}: {scheme} public key of {len(raw)} bytes, expected "
                                 f"{PUBLIC_KEY_SIZES[scheme]}")
        return PublicKey(scheme, raw, der)

    @staticmethod
    def from_raw(scheme: str, raw: bytes) -> "PublicKey":
        if scheme not in SCHEME_OIDS:
            raise KeyFormatError(f"unsupported scheme {scheme}")
        alg = _der_tlv(0x30, _der_tlv(0x06, _oid_encode(SCHEME_OIDS[scheme])))
        spki = _der_tlv(0x30, alg + _der_tlv(0x03, b"\x00" + raw))
        return PublicKey(scheme, bytes(raw), spki)


@dataclass(frozen=True)
class PrivateKey:
    scheme: str
    seed: bytes | None       # ML-DSA xi or the Ed25519 private key (32 bytes)
    expanded: bytes | None   # ML-DSA FIPS 204 expanded signing key
    public: PublicKey | None  # when the file carried it or a .pub beside it was read


def key_id(spki_der: bytes) -> str:
    return hashlib.sha256(spki_der).digest()[:16].hex()


def read_public_key(path: str | Path) -> PublicKey:
    path = Path(path)
    _, der = _read_pem(path, ("PUBLIC KEY",))
    return PublicKey.from_spki(der, str(path))


def parse_pkcs8(der: bytes, where: str = "private key") -> PrivateKey:
    try:
        tag, body, end = _der_read(der, 0)
        if tag != 0x30 or end != len(der):
            raise KeyFormatError("not a DER SEQUENCE")
        kids = _der_children(body)
        if len(kids) < 3 or kids[0][0] != 0x02 or kids[1][0] != 0x30 or kids[2][0] != 0x04:
            raise KeyFormatError("not a PKCS#8 PrivateKeyInfo")
        oid = _oid_decode(_der_children(kids[1][1])[0][1])
        scheme = OID_SCHEMES.get(oid)
        if scheme is None:
            raise KeyFormatError(f"key algorithm {oid} is not one this client supports "
                                 f"({', '.join(sorted(SCHEME_OIDS))})")
        inner = kids[2][1]
        public = None
        for t, v in kids[3:]:
            if t == 0x81 and v and v[0] == 0:      # [1] IMPLICIT BIT STRING publicKey (RFC 5958 v2)
                public = PublicKey.from_raw(scheme, v[1:])
        if scheme == "Ed25519":
            t, v, e = _der_read(inner, 0)
            if t != 0x04 or len(v) != 32 or e != len(inner):
                raise KeyFormatError("Ed25519 private key is not a 32-byte OCTET STRING")
            return PrivateKey(scheme, v, None, public)
        t, v, e = _der_read(inner, 0)
        if e != len(inner):
            raise KeyFormatError("trailing bytes in the ML-DSA private key")
        seed = expanded = None
        if t == 0x80:                                # seed [0] IMPLICIT OCTET STRING
            seed = v
        elif t == 0x04:                              # expandedKey OCTET STRING
            expanded = v
        elif t == 0x30:                              # both SEQUENCE { seed, expandedKey }
            parts = _der_children(v)
            if len(parts) != 2 or parts[0][0] != 0x04 or parts[1][0] != 0x04:
                raise KeyFormatError("ML-DSA 'both' key is not SEQUENCE { OCTET STRING, OCTET STRING }")
            seed, expanded = parts[0][1], parts[1][1]
        else:
            raise KeyFormatError(f"ML-DSA private key of an unknown form (tag 0x{t:02x})")
        if seed is not None and len(seed) != 32:
            raise KeyFormatError(f"ML-DSA seed of {len(seed)} bytes, expected 32")
        if expanded is not None and len(expanded) != EXPANDED_KEY_SIZES[scheme]:
            raise KeyFormatError(f"{scheme} expanded key of {len(expanded)} bytes, expected "
                                 f"{EXPANDED_KEY_SIZES[scheme]}")
        return PrivateKey(scheme, seed, expanded, public)
    except KeyFormatError as e:
        raise KeyFormatError(f"{where}: {e}") from None


def read_private_key(path: str | Path, public_path: str | Path | None = None) -> PrivateKey:
    """The private key; its public key from `public_path`, or NAME.pub beside NAME.key when that exists."""
    path = Path(path)
    _, der = _read_pem(path, ("PRIVATE KEY",))
    key = parse_pkcs8(der, str(path))
    pub_file = Path(public_path) if public_path else path.with_suffix(".pub")
    if public_path or pub_file.exists():
        pub = read_public_key(pub_file)
        if pub.scheme != key.scheme:
            raise KeyFormatError(f"{pub_file}: a {pub.scheme} public key beside the {key.scheme} private key {path}")
        if key.public is not None and key.public.raw != pub.raw:
            raise KeyFormatError(f"{pub_file}: not the public key of {path}")
        key = PrivateKey(key.scheme, key.seed, key.expanded, pub)
    return key
