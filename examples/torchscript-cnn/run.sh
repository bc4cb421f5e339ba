#!/usr/bin/env bash
# Federates the example's TorchScript CNN (model/fmnist_cnn.pt) on Fashion-MNIST: a simulated federation over
# TLS 1.3 (X25519MLKEM768) with ML-DSA-65-signed updates and global models, each client training the PyTorch
# module through DJL; then exports the final global model as safetensors with its signed statement, re-checks the
# coordinator's ledger and signed checkpoints offline, and, where Debian's python3-torch is installed, loads the
# model back into the PyTorch module and evaluates it on the 10,000 test images. The last line printed is the
# global model's test accuracy.
#
#   examples/torchscript-cnn/run.sh                          # from a clean clone; needs a JDK 17+ (installs
#                                                            # dataset-fashion-mnist with apt when run as root)
#   PQFL_EXAMPLE_QUICK=1 examples/torchscript-cnn/run.sh     # 2 clients x 2 rounds x 300 images (CI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ "${PQFL_EXAMPLE_QUICK:-0}" = "1" ]; then
  clients=2 rounds=2 examples=300 test=1000
else
  clients=3 rounds=3 examples=1500 test=2000
fi
model="$here/model/fmnist_cnn.pt"
data=/usr/share/datasets/fashion-mnist
run="$here/run"

"$root/pqfl" --version >/dev/null   # builds pqfl on first use
rm -rf "$run"
mkdir -p "$run"

# No --data: the launcher installs Debian's dataset-fashion-mnist when it is missing.
if ! "$root/pqfl" simulate --schemes ML-DSA-65 --transport tls --clients "$clients" --rounds "$rounds" \
    --trainer-option torchscript="$model" --trainer-option input-shape=1,28,28 \
    --examples-per-client "$examples" --test-examples "$test" --learning-rate 0.005 --batch-size 32 \
    --out "$run/simulation" 2>"$run/pqfl.log"; then
  tail -n 20 "$run/pqfl.log" >&2
  echo "run.sh: pqfl simulate failed; its log is $run/pqfl.log" >&2
  exit 1
fi
arm="$run/simulation/arm-ML-DSA-65/data"

"$root/pqfl" model export --data-dir "$arm" --out "$run/global.safetensors"
# Offline checks against the arm's coordinator key (the simulation writes it beside the arm's data): the exported
# model's digest and signature, and the whole ledger.
"$root/pqfl" model verify "$run/global.safetensors" --coordinator-key "$arm/../coordinator.pub" | sed 's/^/  /'
"$root/pqfl" ledger verify "$arm" --coordinator-key "$arm/../coordinator.pub" 2>&1 | sed 's/^/  ledger: /'

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$here/load_federated.py" "$run/global.safetensors" --model "$model" --data "$data" \
    --save "$run/federated_cnn.pt"
else
  echo "(python3-torch is not installed: the PyTorch check is skipped; pqfl's own measurement follows)"
  accuracy="$(sed -n 's/.*"finalAccuracy" *: *\([0-9.eE+-]*\).*/\1/p' "$run/simulation/results.json" | head -n 1)"
  if [ -z "$accuracy" ]; then
    echo "run.sh: no final accuracy in $run/simulation/results.json" >&2
    exit 1
  fi
  printf 'test accuracy %.4f\n' "$accuracy"
fi
