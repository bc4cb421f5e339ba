#!/usr/bin/env python3
"""Loads a federated model that pqfl exported as safetensors into the example's PyTorch module and evaluates it
on Fashion-MNIST's test set.

    python3 load_federated.py global.safetensors [--model model/fmnist_cnn.pt]
                              [--data /usr/share/datasets/fashion-mnist] [--save federated_cnn.pt]

`pqfl model export` writes a federation's global model (or any checkpoint) as safetensors: one float32 tensor
per manifest entry, keyed by the manifest's names, which for a TorchScript model are the module's parameter
names (conv1.weight, ...). This script copies them into the module, refusing a missing, unexpected or
mis-shaped tensor by name, and prints the test loss and accuracy (accuracy on the last line). --save writes the
module with the federated weights as TorchScript again.

Needs only Debian's python3-torch: the safetensors format (an 8-byte little-endian header length, a JSON
header, then the raw tensor bytes) is read here in a few lines, as Debian has no python3-safetensors.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) from a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > len(raw) - 8:
        raise SystemExit(f"{path}: header length {header_len} exceeds the file")
    header = json.loads(raw[8:8 + header_len])
    data = raw[8 + header_len:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise SystemExit(f"{path}: tensor {name} lies outside the file ({begin}..{end} of {len(data)})")
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, metadata


def load_into(module, tensors):
    """Copies the tensors into the module's parameters, checking names, shapes and dtype first."""
    params = dict(module.named_parameters())
    missing = [n for n in params if n not in tensors]
    unexpected = [n for n in tensors if n not in params]
    if missing or unexpected:
        raise SystemExit(f"the file does not fit the module: missing {missing}, unexpected {unexpected}")
    for name, p in params.items():
        t = tensors[name]
        if t.dtype != torch.float32:
            raise SystemExit(f"tensor {name} is {t.dtype}, the federation's tensors are float32")
        if tuple(t.shape) != tuple(p.shape):
            raise SystemExit(f"tensor {name} has shape {list(t.shape)}, the module's parameter has {list(p.shape)}")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(tensors[name])


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    magic, count = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(count, 1, rows, cols)
    if magic == 0x801:
        return torch.frombuffer(bytearray(raw[8:]), dtype=torch.uint8).long()
    raise SystemExit(f"{path}: not an IDX file (magic {magic:#x})")


def find(directory, base):
    for name in (base + ".gz", base):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise SystemExit(f"{os.path.join(directory, base)}[.gz]: no such file (apt-get install dataset-fashion-mnist)")


def evaluate(module, data_dir):
    images = read_idx(find(data_dir, "t10k-images-idx3-ubyte")).float() / 255  # as pqfl reads IDX: [0, 1]
    labels = read_idx(find(data_dir, "t10k-labels-idx1-ubyte"))
    module.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), 1000):
            x, y = images[start:start + 1000], labels[start:start + 1000]
            logits = module(x)
            loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss / len(labels), correct / len(labels)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a safetensors file written by pqfl model export")
    parser.add_argument("--model", default=os.path.join(here, "model", "fmnist_cnn.pt"),
                        help="the TorchScript module the federation started from")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--save", help="write the module with the federated weights as TorchScript here")
    args = parser.parse_args()

    tensors, metadata = read_safetensors(args.weights)
    if metadata.get("format") not in (None, "pt"):
        print(f"note: metadata format is {metadata.get('format')!r}, not 'pt'", file=sys.stderr)
    module = torch.jit.load(args.model)
    load_into(module, tensors)
    print(f"loaded {len(tensors)} tensors from {args.weights} into {args.model}; metadata {metadata}")
    if args.save:
        torch.jit.save(module, args.save)
        print(f"saved the federated module to {args.save}")
    loss, accuracy = evaluate(module, args.data)
    print(f"test loss {loss:.4f}")
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
