"""The gRPC stubs of proto/src/main/protobuf/pqfl/v1/federation.proto, generated with grpc_tools on first use.

They go to `pqfl_client/_generated/` (git-ignored), or to $PQFL_STUBS_DIR; the proto is found at
$PQFL_PROTO_DIR or in this repository. Nothing generated is checked in: the stubs always match the proto.
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROTO = "pqfl/v1/federation.proto"


def proto_dir() -> Path:
    return Path(os.environ.get("PQFL_PROTO_DIR") or Path(__file__).resolve().parents[3] / "proto/src/main/protobuf")


def stubs_dir() -> Path:
    return Path(os.environ.get("PQFL_STUBS_DIR") or Path(__file__).resolve().parent / "_generated")


def generate(out: Path | None = None, timeout_s: float = 120) -> Path:
    out = Path(out or stubs_dir())
    src = proto_dir()
    if not (src / PROTO).exists():
        raise RuntimeError(f"{src / PROTO} not found: set PQFL_PROTO_DIR to the directory holding {PROTO}")
    tmp = Path(tempfile.mkdtemp(prefix="pqfl-stubs-", dir=out.parent if out.parent.exists() else None))
    try:
        cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{src}", f"--python_out={tmp}",
               f"--grpc_python_out={tmp}", str(src / PROTO)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if r.returncode != 0:
            hint = (" (grpc_tools is missing: apt-get install python3-grpc-tools, or pip install grpcio-tools)"
                    if "No module named grpc_tools" in r.stderr else "")
            raise RuntimeError(f"stub generation failed{hint}: {r.stderr.strip()}")
        for pkg in (tmp / "pqfl", tmp / "pqfl/v1"):
            (pkg / "__init__.py").touch()
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(tmp), str(out))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def load():
    """(federation_pb2, federation_pb2_grpc), generating them first when they are missing."""
    out = stubs_dir()
    if not (out / "pqfl/v1/federation_pb2_grpc.py").exists():
        generate(out)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    pb2 = importlib.import_module("pqfl.v1.federation_pb2")
    grpc_mod = importlib.import_module("pqfl.v1.federation_pb2_grpc")
    return pb2, grpc_mod
