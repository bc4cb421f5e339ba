"""Tensor data and the payload digest (docs/PROTOCOL.md, "Tensor data and the payload digest").

A model is an ordered list of named float32 tensors, its manifest. Its wire bytes are each tensor's values in
row-major order as IEEE 754 binary32 little-endian, concatenated in manifest order. The payload digest is
SHA-512(manifest encoding || wire bytes).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from .encoding import Writer

MANIFEST_TAG = "pqfl.manifest"
DTYPE = "float32"
_LE_F32 = np.dtype("<f4")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str = DTYPE

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Manifest:
    architecture: str
    tensors: tuple[TensorSpec, ...]

    def encode(self) -> bytes:
        w = Writer().string(MANIFEST_TAG).u16(1).string(self.architecture).u32(len(self.tensors))
        for t in self.tensors:
            w.string(t.name).string(t.dtype).u32(len(t.shape))
            for d in t.shape:
                w.u32(d)
        return w.bytes()

    @property
    def byte_count(self) -> int:
        return 4 * sum(t.count for t in self.tensors)

    def names(self) -> list[str]:
        return [t.name for t in self.tensors]

    def check(self) -> "Manifest":
        seen = set()
        for t in self.tensors:
            if t.dtype != DTYPE:
                raise ValueError(f"tensor {t.name!r} has dtype {t.dtype!r}; protocol version 1 carries float32 only")
            if t.name in seen:
                raise ValueError(f"tensor {t.name!r} appears twice in the manifest")
            if any(d < 0 for d in t.shape):
                raise ValueError(f"tensor {t.name!r} has a negative dimension {t.shape}")
            seen.add(t.name)
        return self

    # protobuf ModelManifest <-> Manifest
    @staticmethod
    def from_proto(m) -> "Manifest":
        return Manifest(m.architecture, tuple(TensorSpec(t.name, tuple(int(d) for d in t.shape), t.dtype)
                                              for t in m.tensors)).check()

    def to_proto(self, pb2):
        return pb2.ModelManifest(architecture=self.architecture,
                                 tensors=[pb2.TensorSpec(name=t.name, shape=list(t.shape), dtype=t.dtype)
                                          for t in self.tensors])

    def describe_difference(self, other: "Manifest") -> str | None:
        """None when equal; otherwise the first difference, in words."""
        if self.architecture != other.architecture:
            return f"architecture {self.architecture!r} vs {other.architecture!r}"
        if len(self.tensors) != len(other.tensors):
            return f"{len(self.tensors)} tensors vs {len(other.tensors)}"
        for a, b in zip(self.tensors, other.tensors):
            if a != b:
                return f"tensor {a.name!r} {list(a.shape)} {a.dtype} vs {b.name!r} {list(b.shape)} {b.dtype}"
        return None


def manifest_of(weights: Mapping[str, np.ndarray], architecture: str) -> Manifest:
    return Manifest(architecture, tuple(TensorSpec(n, tuple(int(d) for d in np.shape(a))) for n, a in weights.items()))


def wire_bytes(manifest: Manifest, weights: Mapping[str, np.ndarray]) -> bytes:
    """The tensors of `weights` in manifest order, float32 little-endian, row-major; every shape checked."""
    parts = []
    for t in manifest.tensors:
        if t.name not in weights:
            raise ValueError(f"tensor {t.name!r} of the manifest is missing from the weights")
        a = np.asarray(weights[t.name])
        if tuple(a.shape) != t.shape:
            raise ValueError(f"tensor {t.name!r} has shape {list(a.shape)}, the manifest says {list(t.shape)}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor {t.name!r} holds NaN or infinite values")
        parts.append(np.ascontiguousarray(a, dtype=_LE_F32).tobytes(order="C"))
    extra = set(weights) - set(manifest.names())
    if extra:
        raise ValueError(f"tensors not in the manifest: {sorted(extra)}")
    return b"".join(parts)


def decode(manifest: Manifest, data: bytes) -> dict[str, np.ndarray]:
    """Wire bytes back into named float32 arrays (native byte order copies)."""
    if len(data) != manifest.byte_count:
        raise ValueError(f"{len(data)} tensor bytes; the manifest describes {manifest.byte_count}")
    out: dict[str, np.ndarray] = {}
    at = 0
    for t in manifest.tensors:
        n = 4 * t.count
        out[t.name] = np.frombuffer(data, dtype=_LE_F32, count=t.count, offset=at).astype(np.float32) \
            .reshape(t.shape)
        at += n
    return out


class Digester:
    """SHA-512 over the manifest encoding and then the wire bytes, fed chunk by chunk as they arrive."""

    def __init__(self, manifest: Manifest) -> None:
        self._h = hashlib.sha512(manifest.encode())

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)

    def digest(self) -> bytes:
        return self._h.digest()


def payload_digest(manifest: Manifest, data: bytes) -> bytes:
    d = Digester(manifest)
    d.update(data)
    return d.digest()


def chunks(data: bytes, size: int = 1 << 20) -> Iterable[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]
