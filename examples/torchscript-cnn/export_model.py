#!/usr/bin/env python3
"""Exports the example's CNN for 28x28 grey images as TorchScript, ready for pqfl to federate.

    python3 export_model.py [--out model/fmnist_cnn.pt] [--seed 0] [--trace]

What makes a module trainable by pqfl through DJL (docs/TORCHSCRIPT.md):
  * every parameter is float32 (the manifest carries float32 tensors only);
  * no buffers: DJL sees a TorchScript module's parameters only, so a buffer such as BatchNorm's
    running_mean/running_var/num_batches_tracked would never be trained, sent or averaged;
  * saved in training mode (pqfl switches the module to training mode itself, but keep it simple);
  * exported with torch <= 2.7: pqfl's libtorch is 2.7.1 and cannot read newer TorchScript files.

The module's input is a batch of examples shaped [N, 1, 28, 28], float32 in [0, 1] (pixel / 255), and its
output is the 10 class logits (no softmax: pqfl's loss is softmax cross-entropy on logits).

The export is reproducible: the same seed and torch version give the same file, byte for byte, and the script prints their
names and shapes in the module's order, which is the order of the federation's manifest.
"""
import argparse
import hashlib
import os
import sys

import torch
from torch import nn


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)  # 8 x 14 x 14
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)  # 16 x 7 x 7
        return self.fc(torch.flatten(x, 1))


def check_federatable(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        if p.dtype != torch.float32:
            raise SystemExit(f"parameter {name} is {p.dtype}; pqfl federates float32 parameters only")
    buffers = [name for name, _ in module.named_buffers()]
    if buffers:
        raise SystemExit(f"buffers {buffers}: DJL cannot see a TorchScript module's buffers, so they would "
                         "never be trained or federated; remove them (e.g. no BatchNorm) or use a DJL Block")


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes each module's constants in set order, which follows Python's string hashing:
        # fix it so the same seed gives the same bytes.
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "model", "fmnist_cnn.pt"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trace", action="store_true", help="torch.jit.trace instead of torch.jit.script")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = FashionCnn().float().train()
    check_federatable(model)
    if args.trace:
        exported = torch.jit.trace(model, torch.zeros(1, 1, 28, 28))
    else:
        exported = torch.jit.script(model)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.jit.save(exported, args.out)

    print(f"torch {torch.__version__}, seed {args.seed}, {'traced' if args.trace else 'scripted'}")
    total = 0
    for name, p in exported.named_parameters():
        print(f"{name} {list(p.shape)} {str(p.dtype).replace('torch.', '')}")
        total += p.numel()
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"{total} parameters -> {args.out} ({os.path.getsize(args.out)} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
