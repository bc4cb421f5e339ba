#!/usr/bin/env python3
"""Writes the TorchScript fixtures of TorchScriptModelTest (run from this directory with Debian's python3-torch):

    python3 make_fixtures.py ../../../../../../../../../examples/torchscript-cnn/model/fmnist_cnn.pt

  batchnorm.pt      a scripted module with BatchNorm2d: buffers running_mean, running_var, num_batches_tracked
  float64.pt        a scripted Linear(4, 2) whose parameters are float64
  dropout_eval.pt   a scripted Flatten, Dropout(0.5), Linear(784, 2), saved after eval(): pqfl must train it in
                    training mode all the same
  traced.pt         torch.jit.trace of Flatten, Linear(784, 4), ReLU, Linear(4, 10)
  state_dict.pt     torch.save of a state_dict: a pickle, not a TorchScript archive
  sgd_step.bin      PyTorch's own answer to one training step of the example CNN, for comparison with DJL:
                    a batch of 8 fixed inputs [8, 1, 28, 28] and labels, then every parameter after one SGD
                    step (lr 0.1, mean softmax cross-entropy), in the module's order; all little-endian:
                    float32 inputs, int32 labels, float32 loss before the step, float32 parameters.
"""
import os
import struct
import sys

import torch
from torch import nn


class WithBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(2 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 4), 1))


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    cnn_path = sys.argv[1]
    torch.manual_seed(1)
    torch.jit.save(torch.jit.script(WithBatchNorm()), "batchnorm.pt")
    torch.jit.save(torch.jit.script(nn.Linear(4, 2).double()), "float64.pt")
    torch.save(nn.Linear(4, 2).state_dict(), "state_dict.pt")
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 4), nn.ReLU(), nn.Linear(4, 10))
    torch.jit.save(torch.jit.trace(mlp, torch.zeros(1, 1, 28, 28)), "traced.pt")
    dropout = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(784, 2)).eval()
    torch.jit.save(torch.jit.script(dropout), "dropout_eval.pt")

    cnn = torch.jit.load(cnn_path)
    cnn.train()
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(8, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (8,), generator=generator)
    loss = nn.functional.cross_entropy(cnn(x), y)
    loss.backward()
    with torch.no_grad():
        for p in cnn.parameters():
            p -= 0.1 * p.grad
    with open("sgd_step.bin", "wb") as f:
        f.write(x.numpy().astype("<f4").tobytes())
        f.write(y.numpy().astype("<i4").tobytes())
        f.write(struct.pack("<f", loss.item()))
        for name, p in cnn.named_parameters():
            f.write(p.detach().numpy().astype("<f4").tobytes())
    print(f"loss before the step {loss.item():.6f}")


if __name__ == "__main__":
    main()
