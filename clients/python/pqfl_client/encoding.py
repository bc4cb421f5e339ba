"""Canonical statement encoding of docs/PROTOCOL.md ("Encoding" and the statement layouts).

Every statement is a sequence of fields of these types: u8/u16/u32/u64 (unsigned, big-endian), bytes (u32 length,
then the bytes) and string (bytes of the UTF-8 encoding). It starts with a domain-separation tag (a string) and a u16
version. A signature never covers protobuf bytes: the receiver rebuilds a statement from message fields and from the
digest it computed itself, and verifies the signature over these bytes.

`Writer` builds statements; `Reader` parses them back (the tests use it to take the published test vectors apart
into fields and rebuild them). The builders below are the only place the layouts are written down in this client.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

UPDATE_TAG = "pqfl.update-statement"
MODEL_TAG = "pqfl.model-statement"
SESSION_TAG = "pqfl.session-statement"
TASK_TAG = "pqfl.task-statement"
EVALUATION_TAG = "pqfl.evaluation-statement"
ENROLLMENT_TAG = "pqfl.enrollment-statement"
PARTIAL_AGGREGATE_TAG = "pqfl.partial-aggregate-statement"

TASK_KIND_TRAIN = 1
TASK_KIND_EVALUATE = 2


class Writer:
    """Appends canonical fields; `bytes()` gives the encoding."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">B", _range(v, 0xFF, "u8")))
        return self

    def u16(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">H", _range(v, 0xFFFF, "u16")))
        return self

    def u32(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">I", _range(v, 0xFFFFFFFF, "u32")))
        return self

    def u64(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">Q", _range(v, 0xFFFFFFFFFFFFFFFF, "u64")))
        return self

    def raw(self, b: bytes) -> "Writer":
        self._parts.append(bytes(b))
        return self

    def bytes_(self, b: bytes) -> "Writer":
        b = bytes(b)
        self.u32(len(b))
        self._parts.append(b)
        return self

    def string(self, s: str) -> "Writer":
        return self.bytes_(s.encode("utf-8"))

    def f32_bits(self, v: float) -> "Writer":
        """A u32 holding the IEEE 754 binary32 bits of v."""
        self._parts.append(struct.pack(">f", v))
        return self

    def f64_bits(self, v: float) -> "Writer":
        """A u64 holding the IEEE 754 binary64 bits of v."""
        self._parts.append(struct.pack(">d", v))
        return self

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads canonical fields back; every read checks that the bytes are there."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def _take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"statement truncated reading {what} at offset {self.pos}: need {n} bytes, "
                             f"{len(self.data) - self.pos} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self._take(1, "u8")[0]

    def u16(self) -> int:
        return struct.unpack(">H", self._take(2, "u16"))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self._take(4, "u32"))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self._take(8, "u64"))[0]

    def f32(self) -> float:
        return struct.unpack(">f", self._take(4, "f32"))[0]

    def f64(self) -> float:
        return struct.unpack(">d", self._take(8, "f64"))[0]

    def bytes_(self) -> bytes:
        n = self.u32()
        return self._take(n, "bytes")

    def string(self) -> str:
        return self.bytes_().decode("utf-8")

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise ValueError(f"{len(self.data) - self.pos} trailing bytes after the statement")


def _range(v: int, hi: int, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > hi:
        raise ValueError(f"{what} out of range: {v!r}")
    return v


def _header(w: Writer, tag: str, version: int) -> Writer:
    return w.string(tag).u16(version)


# ---------------------------------------------------------------------------------------------------------------
# The statements. Field order and types are exactly PROTOCOL.md's.


def update_statement(*, federation_id: str, round: int, nonce: bytes, base_model_digest: bytes, client_id: str,
                     key_id: str, scheme: str, update_digest: bytes, num_examples: int) -> bytes:
    return (_header(Writer(), UPDATE_TAG, 1)
            .string(federation_id).u64(round).bytes_(nonce).bytes_(base_model_digest).string(client_id)
            .string(key_id).string(scheme).bytes_(update_digest).u64(num_examples).bytes())


def session_statement(*, federation_id: str, coordinator_key_id: str, client_id: str, key_id: str, scheme: str,
                      challenge: bytes) -> bytes:
    return (_header(Writer(), SESSION_TAG, 1)
            .string(federation_id).string(coordinator_key_id).string(client_id).string(key_id).string(scheme)
            .bytes_(challenge).bytes())


def task_statement(*, federation_id: str, kind: int, round: int, nonce: bytes, client_id: str, model_round: int,
                   model_digest: bytes, local_epochs: int, batch_size: int, learning_rate: float,
                   proximal_mu: float, optimizer: str, deadline_unix_ms: int, scheme: str, key_id: str) -> bytes:
    if kind not in (TASK_KIND_TRAIN, TASK_KIND_EVALUATE):
        raise ValueError(f"task kind {kind} is neither TRAIN (1) nor EVALUATE (2)")
    return (_header(Writer(), TASK_TAG, 2)
            .string(federation_id).u8(kind).u64(round).bytes_(nonce).string(client_id).u64(model_round)
            .bytes_(model_digest).u32(local_epochs).u32(batch_size).f32_bits(learning_rate).f32_bits(proximal_mu)
            .string(optimizer).u64(deadline_unix_ms).string(scheme).string(key_id).bytes())


@dataclass(frozen=True)
class Receipt:
    client_id: str
    update_digest: bytes
    num_examples: int


def model_statement(*, federation_id: str, model_round: int, model_digest: bytes, parent_model_digest: bytes,
                    ledger_head: bytes, strategy_state_digest: bytes, receipt: Iterable[Receipt], scheme: str,
                    key_id: str) -> bytes:
    entries = sorted(receipt, key=lambda r: r.client_id.encode("utf-8"))
    w = (_header(Writer(), MODEL_TAG, 2)
         .string(federation_id).u64(model_round).bytes_(model_digest).bytes_(parent_model_digest)
         .bytes_(ledger_head).bytes_(strategy_state_digest).u32(len(entries)))
    for r in entries:
        w.string(r.client_id).bytes_(r.update_digest).u64(r.num_examples)
    return w.string(scheme).string(key_id).bytes()


def evaluation_statement(*, federation_id: str, round: int, nonce: bytes, client_id: str, model_digest: bytes,
                         loss: float, num_examples: int, metrics: Mapping[str, float], scheme: str,
                         key_id: str) -> bytes:
    check_finite(loss, "loss")
    names = sorted(metrics, key=lambda n: n.encode("utf-8"))
    w = (_header(Writer(), EVALUATION_TAG, 1)
         .string(federation_id).u64(round).bytes_(nonce).string(client_id).bytes_(model_digest)
         .f64_bits(loss).u64(num_examples).u32(len(names)))
    for n in names:
        w.string(n).f64_bits(check_finite(metrics[n], n))
    return w.string(scheme).string(key_id).bytes()


def enrollment_statement(*, federation_id: str, client_id: str, challenge: bytes, key_id: str,
                         token_digest: bytes) -> bytes:
    return (_header(Writer(), ENROLLMENT_TAG, 1)
            .string(federation_id).string(client_id).bytes_(challenge).string(key_id).bytes_(token_digest).bytes())


@dataclass(frozen=True)
class PartialReceipt:
    client_id: str
    update_digest: bytes
    num_examples: int
    key_id: str
    scheme: str
    signature: bytes


def partial_aggregate_statement(*, federation_id: str, round: int, nonce: bytes, base_model_digest: bytes,
                                aggregator_id: str, key_id: str, scheme: str, aggregate_digest: bytes,
                                num_examples: int, child_federation_id: str, child_round: int, child_nonce: bytes,
                                aggregator_ledger_head: bytes, receipt: Sequence[PartialReceipt]) -> bytes:
    entries = sorted(receipt, key=lambda r: r.client_id.encode("utf-8"))
    w = (_header(Writer(), PARTIAL_AGGREGATE_TAG, 1)
         .string(federation_id).u64(round).bytes_(nonce).bytes_(base_model_digest).string(aggregator_id)
         .string(key_id).string(scheme).bytes_(aggregate_digest).u64(num_examples)
         .string(child_federation_id).u64(child_round).bytes_(child_nonce).bytes_(aggregator_ledger_head)
         .u32(len(entries)))
    for r in entries:
        w.string(r.client_id).bytes_(r.update_digest).u64(r.num_examples).string(r.key_id).string(r.scheme) \
            .bytes_(r.signature)
    return w.bytes()


# ---------------------------------------------------------------------------------------------------------------
# Client-reported metrics (io.pqfl.protocol.ClientMetrics): at most 32, names [a-z0-9_.]{1,64}, finite, |v| <= 1e12.

MAX_METRICS = 32
METRIC_BOUND = 1e12


def check_finite(v: float, what: str) -> float:
    v = float(v)
    if not math.isfinite(v) or abs(v) > METRIC_BOUND:
        raise ValueError(f"{what} = {v!r} is not finite or beyond +-1e12")
    return v


def valid_metric_name(name: str) -> bool:
    return (isinstance(name, str) and 1 <= len(name) <= 64
            and all(c in "abcdefghijklmnopqrstuvwxyz0123456789_." for c in name))


def clean_metrics(metrics: Mapping[str, float] | None) -> tuple[dict[str, float], list[str]]:
    """Keeps the metrics that follow the rules (the first 32 by name); returns them and a warning per one dropped."""
    kept: dict[str, float] = {}
    dropped: list[str] = []
    for name in sorted(metrics or {}):
        value = (metrics or {})[name]
        try:
            v = float(value)
        except (TypeError, ValueError):
            dropped.append(f"metric {name!r}: not a number ({value!r})")
            continue
        if not valid_metric_name(name):
            dropped.append(f"metric {name!r}: names are 1-64 characters of [a-z0-9_.]")
        elif not math.isfinite(v) or abs(v) > METRIC_BOUND:
            dropped.append(f"metric {name!r}: {v!r} is not finite or beyond +-1e12")
        elif len(kept) >= MAX_METRICS:
            dropped.append(f"metric {name!r}: more than {MAX_METRICS} metrics")
        else:
            kept[name] = v
    return kept, dropped
