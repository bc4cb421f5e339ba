"""Shared paths and helpers of the tests: the repository's docs and worked-example keys."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PKG_ROOT = HERE.parent
REPO = PKG_ROOT.parents[1]
if str(PKG_ROOT) not in sys.path:
    sys.path.insert(0, str(PKG_ROOT))

PROTOCOL_MD = REPO / "docs/PROTOCOL.md"
VECTORS = REPO / "docs/test-vectors/statements.json"
WORKED = REPO / "proto/src/test/resources/worked-example"


def vectors() -> list[dict]:
    return json.loads(VECTORS.read_text())["vectors"]


def vector(name: str) -> dict:
    return next(v for v in vectors() if v["name"] == name)


def doc_hex(section: str, label: str) -> tuple[bytes, int | None]:
    """The hex block after `label` (e.g. "Full statement") in the PROTOCOL.md section `### section`, and the byte
    count the label states, if it states one."""
    text = PROTOCOL_MD.read_text()
    start = text.index(f"### {section}\n")
    nxt = text.find("\n### ", start + 1)
    body = text[start:nxt if nxt > 0 else len(text)]
    m = re.search(re.escape(label) + r"(?: \((\d+) bytes\))?:\s*\n\s*```\n([0-9a-f\n]+)```", body)
    if not m:
        raise AssertionError(f"no '{label}' hex block in PROTOCOL.md section '{section}'")
    return bytes.fromhex("".join(m.group(2).split())), (int(m.group(1)) if m.group(1) else None)


def inline_hex(label: str) -> bytes:
    """A hex string given inline in PROTOCOL.md: `label`: `hex`."""
    text = PROTOCOL_MD.read_text()
    m = re.search(re.escape(label) + r"[^`\n]*`([0-9a-f]+)`", text)
    if not m:
        raise AssertionError(f"no inline hex after '{label}' in PROTOCOL.md")
    return bytes.fromhex(m.group(1))


def doc_plain_hex_after(heading_text: str) -> bytes:
    """The first ``` hex block after a line containing heading_text (anywhere in PROTOCOL.md)."""
    text = PROTOCOL_MD.read_text()
    at = text.index(heading_text)
    m = re.compile(r"```\n([0-9a-f\n]+)```").search(text, at)
    return bytes.fromhex("".join(m.group(1).split()))
