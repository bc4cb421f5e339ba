"""The NumPy-style training hook, and a default one that trains pqfl's built-in `mlp` on Fashion-MNIST.

A hook is any callable

    train(weights: dict[str, np.ndarray], config: TrainConfig) -> (new_weights | Delta(delta), num_examples, metrics)

`weights` is the verified global model of the round, by tensor name in manifest order (float32 arrays, yours to
modify). Return the new full weights (what pqfl sends: an update is the client's new model, averaged by FedAvg),
or `Delta({...})` with the difference from `weights`, which the client adds before sending. `num_examples` (>= 1)
is the update's weight in aggregation and is signed; `metrics` is a dict of floats (names [a-z0-9_.]{1,64}).

An optional evaluation hook `evaluate(weights, config) -> (loss, num_examples, metrics)` answers EVALUATE tasks.
"""
from __future__ import annotations

import gzip
import math
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class TrainConfig:
    """The round's signed training configuration (TaskHeader.config) and where it comes from."""
    round: int
    local_epochs: int
    batch_size: int
    learning_rate: float
    proximal_mu: float
    optimizer: str
    deadline_unix_ms: int
    model_round: int
    seed: int
    evaluate: bool = False   # True for an EVALUATE task


class Delta:
    """Wraps a hook's result that is a difference from the global weights rather than the new weights."""

    def __init__(self, tensors: Mapping[str, np.ndarray]) -> None:
        self.tensors = dict(tensors)


TrainHook = Callable[[dict, TrainConfig], tuple]
EvalHook = Callable[[dict, TrainConfig], tuple]


def apply_result(global_weights: Mapping[str, np.ndarray], result) -> dict[str, np.ndarray]:
    """The full weights to send, from a hook's first return value (new weights or a Delta)."""
    if isinstance(result, Delta):
        missing = set(global_weights) - set(result.tensors)
        extra = set(result.tensors) - set(global_weights)
        if missing or extra:
            raise ValueError(f"the delta's tensors differ from the model's: missing {sorted(missing)}, "
                             f"unknown {sorted(extra)}")
        return {k: (np.asarray(global_weights[k], np.float32) + np.asarray(result.tensors[k], np.float32))
                for k in global_weights}
    if not isinstance(result, Mapping):
        raise TypeError(f"a training hook returns a dict of arrays or a Delta first, not {type(result).__name__}")
    return {k: np.asarray(v, dtype=np.float32) for k, v in result.items()}


# ---------------------------------------------------------------------------------------------------------------
# Data


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file (too short)")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(dims):
        raise ValueError(f"{path}: {body.size} values, the header says {dims}")
    return body.reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem}[.gz] (Fashion-MNIST: apt-get install dataset-fashion-mnist)")


def load_fashion_mnist(directory: str | Path = FASHION_MNIST, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 [N, 784] scaled to [0, 1] (as pqfl's IDX reader does), labels as int64 [N]."""
    d = Path(directory)
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(_find(d, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(_find(d, f"{prefix}-labels-idx1-ubyte"))
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{d}: {x.shape[0]} images but {y.shape[0]} labels")
    return (x.reshape(x.shape[0], -1).astype(np.float32) / 255.0), y.astype(np.int64)


def partition_indices(spec: str, n: int) -> np.ndarray:
    """`all`, `FROM-TO` (inclusive) or `K/N` (every N-th example from K), as `pqfl client --partition`."""
    spec = spec.strip()
    if spec == "all":
        return np.arange(n)
    if "/" in spec:
        k, m = (int(x) for x in spec.split("/", 1))
        if m < 1 or not 0 <= k < m:
            raise ValueError(f"partition {spec!r}: K/N needs 0 <= K < N")
        return np.arange(k, n, m)
    if "-" in spec:
        a, b = (int(x) for x in spec.split("-", 1))
        if not 0 <= a <= b < n:
            raise ValueError(f"partition {spec!r}: FROM-TO must lie within 0-{n - 1}")
        return np.arange(a, b + 1)
    raise ValueError(f"partition {spec!r}: expected all, FROM-TO or K/N")


# ---------------------------------------------------------------------------------------------------------------
# The default hook: pqfl's `mlp` (784-128-10, ReLU; fc*.weight as [out, in], as PyTorch's nn.Linear) in NumPy.

MLP_TENSORS = (("fc1.weight", (128, 784)), ("fc1.bias", (128,)), ("fc2.weight", (10, 128)), ("fc2.bias", (10,)))


def _forward(w, x):
    h_pre = x @ w["fc1.weight"].T + w["fc1.bias"]
    h = np.maximum(h_pre, 0.0)
    logits = h @ w["fc2.weight"].T + w["fc2.bias"]
    return h_pre, h, logits


def _softmax_ce(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(y)), y].mean()
    return float(loss), np.exp(logp)


def mlp_loss_and_grads(w: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray):
    h_pre, h, logits = _forward(w, x)
    loss, p = _softmax_ce(logits, y)
    g = p
    g[np.arange(len(y)), y] -= 1.0
    g /= len(y)
    grads = {"fc2.weight": g.T @ h, "fc2.bias": g.sum(axis=0)}
    gh = (g @ w["fc2.weight"]) * (h_pre > 0)
    grads["fc1.weight"] = gh.T @ x
    grads["fc1.bias"] = gh.sum(axis=0)
    return loss, grads


def mlp_evaluate(w: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    losses, correct = 0.0, 0
    for i in range(0, len(y), 2048):
        _, _, logits = _forward(w, x[i:i + 2048])
        loss, _ = _softmax_ce(logits, y[i:i + 2048])
        losses += loss * len(logits)
        correct += int((logits.argmax(axis=1) == y[i:i + 2048]).sum())
    return losses / len(y), correct / len(y)


class FashionMnistMLP:
    """Trains the coordinator's default model (`--model mlp`) on a partition of Fashion-MNIST with NumPy.

    Follows the round's signed configuration: epochs, batch size, learning rate, optimiser (`sgd` or `adam`, fresh
    moments each round, as a fresh local optimiser) and FedProx's mu (adds mu * (w - w_global) to the gradient).
    The last `eval_fraction` of the partition is held out: never trained on, measured after training and used to
    answer EVALUATE tasks.
    """

    def __init__(self, data_dir: str | Path = FASHION_MNIST, partition: str = "all", eval_fraction: float = 0.1,
                 seed: int = 0) -> None:
        x, y = load_fashion_mnist(data_dir, "train")
        idx = partition_indices(partition, len(y))
        n_eval = int(round(len(idx) * eval_fraction))
        if len(idx) - n_eval < 1:
            raise ValueError(f"partition {partition!r} leaves no training examples")
        self.x_train, self.y_train = x[idx[:len(idx) - n_eval]], y[idx[:len(idx) - n_eval]]
        self.x_eval, self.y_eval = x[idx[len(idx) - n_eval:]], y[idx[len(idx) - n_eval:]]
        self.seed = seed

    def check_model(self, weights: Mapping[str, np.ndarray]) -> None:
        shapes = tuple((k, tuple(np.shape(v))) for k, v in weights.items())
        if shapes != MLP_TENSORS:
            raise ValueError(f"the default hook trains pqfl's 'mlp' {list(MLP_TENSORS)}; this model is {list(shapes)} "
                             f"(give your own hook for other models)")

    def train(self, weights: dict[str, np.ndarray], config: TrainConfig):
        self.check_model(weights)
        start = time.monotonic()
        w = {k: np.array(v, dtype=np.float32) for k, v in weights.items()}
        w0 = {k: v.copy() for k, v in w.items()} if config.proximal_mu > 0 else None
        opt = (config.optimizer or "sgd").lower()
        if opt not in ("sgd", "adam"):
            raise ValueError(f"optimizer {config.optimizer!r}: the default hook knows sgd and adam")
        lr, bs = float(config.learning_rate), max(1, int(config.batch_size))
        m = {k: np.zeros_like(v) for k, v in w.items()}
        v2 = {k: np.zeros_like(v) for k, v in w.items()}
        b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
        rng = np.random.default_rng([self.seed, config.round])
        total, count = 0.0, 0
        for _ in range(max(1, int(config.local_epochs))):
            order = rng.permutation(len(self.y_train))
            for i in range(0, len(order), bs):
                b = order[i:i + bs]
                loss, grads = mlp_loss_and_grads(w, self.x_train[b], self.y_train[b])
                total += loss * len(b)
                count += len(b)
                t += 1
                for k in w:
                    g = grads[k]
                    if w0 is not None:
                        g = g + config.proximal_mu * (w[k] - w0[k])
                    if opt == "adam":
                        m[k] = b1 * m[k] + (1 - b1) * g
                        v2[k] = b2 * v2[k] + (1 - b2) * g * g
                        mh = m[k] / (1 - b1 ** t)
                        vh = v2[k] / (1 - b2 ** t)
                        w[k] -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
                    else:
                        w[k] -= (lr * g).astype(np.float32)
        metrics = {"loss": total / max(count, 1), "train_millis": (time.monotonic() - start) * 1000.0}
        if len(self.y_eval):
            eval_loss, acc = mlp_evaluate(w, self.x_eval, self.y_eval)
            metrics.update(eval_loss=eval_loss, eval_accuracy=acc, eval_examples=float(len(self.y_eval)))
        return w, len(self.y_train), metrics

    def evaluate(self, weights: dict[str, np.ndarray], config: TrainConfig):
        self.check_model(weights)
        if not len(self.y_eval):
            raise ValueError("no held-out examples (eval_fraction 0): nothing to evaluate on")
        loss, acc = mlp_evaluate(weights, self.x_eval, self.y_eval)
        return loss, len(self.y_eval), {"accuracy": acc}
