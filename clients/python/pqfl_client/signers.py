"""Signature backends. This client implements no signature scheme itself; it calls packages that do.

ML-DSA (FIPS 204, pure, empty context, as pqfl signs and verifies: docs/PROTOCOL.md, "Signatures"):
  * ``dilithium-py``  (pure Python, ``from dilithium_py.ml_dsa import ML_DSA_65``; written against 1.3.0:
    ``key_derive(seed) -> (pk, sk)``, ``sign(sk, m, ctx=b"", deterministic=False)``, ``verify(pk, m, sig, ctx=b"")``)
  * ``liboqs-python`` (``import oqs``, C liboqs >= 0.12 where "ML-DSA-65" is FIPS 204; written against the
    0.12-0.14 API: ``oqs.Signature(name, secret_key)``, ``.sign(m)``, ``.verify(m, sig, pk)``)
Ed25519 (pqfl's classical baseline, RFC 8032 pure; NOT post-quantum):
  * ``cryptography`` (Debian: python3-cryptography), ``Ed25519PrivateKey.from_private_bytes`` etc.

`backend="auto"` takes liboqs-python, then dilithium-py, for ML-DSA. Without one, `NoBackendError` says what to
install; the client then refuses to join (it cannot even prove possession of its key at Hello).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .keys import PrivateKey, PublicKey, KeyFormatError

ML_DSA = ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87")
BACKENDS = ("auto", "oqs", "dilithium-py")

INSTALL_HINT = ("install one with pip: `pip install dilithium-py` (pure Python FIPS 204) or `pip install liboqs-python` "
                "(needs the liboqs C library); Debian bookworm packages neither")


class NoBackendError(RuntimeError):
    pass


@dataclass
class Signer:
    scheme: str
    public: PublicKey
    backend: str
    _sign: Callable[[bytes], bytes]

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self._sign(bytes(message))


@dataclass
class Verifier:
    public: PublicKey
    backend: str
    _verify: Callable[[bytes, bytes], bool]

    @property
    def scheme(self) -> str:
        return self.public.scheme

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            return bool(self._verify(bytes(message), bytes(signature)))
        except Exception:  # a malformed signature is a failed verification, never a crash
            return False


def _try_import(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # ImportError, or liboqs-python failing to load/build liboqs
        return None


def available_backends() -> dict[str, bool]:
    return {"oqs": _try_import("oqs") is not None,
            "dilithium-py": _try_import("dilithium_py.ml_dsa") is not None,
            "cryptography (Ed25519)": _try_import("cryptography.hazmat.primitives.asymmetric.ed25519") is not None}


def _ml_dsa_order(backend: str) -> list[str]:
    if backend == "auto":
        return ["oqs", "dilithium-py"]
    if backend not in BACKENDS:
        raise ValueError(f"unknown signer backend {backend!r}; known: {', '.join(BACKENDS)}")
    return [backend]


# --- dilithium-py -----------------------------------------------------------------------------------------------

def _dpy_params(scheme: str):
    m = _try_import("dilithium_py.ml_dsa")
    if m is None:
        return None
    return getattr(m, scheme.replace("-", "_"))


def _dpy_signer(key: PrivateKey) -> Signer | None:
    p = _dpy_params(key.scheme)
    if p is None:
        return None
    pk = key.public.raw if key.public else None
    sk = key.expanded
    if key.seed is not None:
        dpk, dsk = p.key_derive(key.seed)
        if sk is not None and dsk != sk:
            raise KeyFormatError(f"{key.scheme} private key: the expanded key is not the one its seed derives")
        sk = dsk
        pk = pk or dpk
    if pk is None:
        pk = p.pk_from_sk(sk)
    pub = key.public or PublicKey.from_raw(key.scheme, pk)
    return Signer(key.scheme, pub, "dilithium-py", lambda m: p.sign(sk, m, ctx=b"", deterministic=True))


def _dpy_verifier(pub: PublicKey) -> Verifier | None:
    p = _dpy_params(pub.scheme)
    if p is None:
        return None
    return Verifier(pub, "dilithium-py", lambda m, s: p.verify(pub.raw, m, s, ctx=b""))


# --- liboqs-python ----------------------------------------------------------------------------------------------

def _oqs_signer(key: PrivateKey) -> Signer | None:
    oqs = _try_import("oqs")
    if oqs is None:
        return None
    if key.expanded is None:
        raise KeyFormatError(f"{key.scheme} private key holds only its seed; liboqs signs with the expanded key "
                             f"(use --signer dilithium-py, which derives it)")
    if key.public is None:
        raise KeyFormatError(f"{key.scheme} private key: liboqs cannot derive the public key; put NAME.pub beside "
                             f"NAME.key or give --public-key")
    sk = key.expanded

    def sign(m: bytes) -> bytes:
        with oqs.Signature(key.scheme, sk) as s:
            return s.sign(m)
    return Signer(key.scheme, key.public, "liboqs-python", sign)


def _oqs_verifier(pub: PublicKey) -> Verifier | None:
    oqs = _try_import("oqs")
    if oqs is None:
        return None

    def verify(m: bytes, s: bytes) -> bool:
        with oqs.Signature(pub.scheme) as v:
            return v.verify(m, s, pub.raw)
    return Verifier(pub, "liboqs-python", verify)


# --- cryptography: Ed25519 --------------------------------------------------------------------------------------

def _ed_module():
    return _try_import("cryptography.hazmat.primitives.asymmetric.ed25519")


def _ed_signer(key: PrivateKey) -> Signer:
    ed = _ed_module()
    if ed is None:
        raise NoBackendError("Ed25519 needs the 'cryptography' package: apt-get install python3-cryptography "
                             "or pip install cryptography")
    from cryptography.hazmat.primitives import serialization
    sk = ed.Ed25519PrivateKey.from_private_bytes(key.seed)
    raw = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if key.public is not None and key.public.raw != raw:
        raise KeyFormatError("the Ed25519 public key file is not the private key's public key")
    return Signer("Ed25519", key.public or PublicKey.from_raw("Ed25519", raw), "cryptography", sk.sign)


def _ed_verifier(pub: PublicKey) -> Verifier:
    ed = _ed_module()
    if ed is None:
        raise NoBackendError("Ed25519 needs the 'cryptography' package: apt-get install python3-cryptography "
                             "or pip install cryptography")
    vk = ed.Ed25519PublicKey.from_public_bytes(pub.raw)

    def verify(m: bytes, s: bytes) -> bool:
        vk.verify(s, m)  # raises InvalidSignature
        return True
    return Verifier(pub, "cryptography", verify)


# --- selection --------------------------------------------------------------------------------------------------

def make_signer(key: PrivateKey, backend: str = "auto", self_test: bool = True) -> Signer:
    if key.scheme == "Ed25519":
        signer = _ed_signer(key)
    elif key.scheme in ML_DSA:
        signer = None
        for name in _ml_dsa_order(backend):
            signer = _oqs_signer(key) if name == "oqs" else _dpy_signer(key)
            if signer is not None:
                break
        if signer is None:
            which = "no ML-DSA package is installed" if backend == "auto" else f"{backend} is not installed"
            raise NoBackendError(f"cannot sign with this {key.scheme} key: {which}; {INSTALL_HINT}")
    else:
        raise NoBackendError(f"no backend for scheme {key.scheme}")
    if self_test:
        probe = b"pqfl python client: key self-test"
        v = make_verifier(signer.public, backend)
        if not v.verify(probe, signer.sign(probe)):
            raise KeyFormatError(f"the {key.scheme} private key does not match its public key "
                                 f"(key id {signer.key_id})")
    return signer


def make_verifier(pub: PublicKey, backend: str = "auto") -> Verifier:
    if pub.scheme == "Ed25519":
        return _ed_verifier(pub)
    if pub.scheme in ML_DSA:
        for name in _ml_dsa_order(backend):
            v = _oqs_verifier(pub) if name == "oqs" else _dpy_verifier(pub)
            if v is not None:
                return v
        which = "no ML-DSA package is installed" if backend == "auto" else f"{backend} is not installed"
        raise NoBackendError(f"cannot verify {pub.scheme} signatures (key {pub.key_id}): {which}; {INSTALL_HINT}")
    raise NoBackendError(f"no backend for scheme {pub.scheme}")
