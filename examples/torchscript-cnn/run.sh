#!/usr/bin/env bash
# Federates the example's TorchScript CNN (model/fmnist_cnn.pt) on Fashion-MNIST: a simulated federation over
# TLS 1.3 (X25519MLKEM768) with ML-DSA-65-signed updates and global models, each client training the PyTorch
# module through DJL; then exports the global model as safetensors with its signed statement, verifies the pair
# offline, and, where Debian's python3-torch is installed, loads it back into PyTorch. The last line printed is
# the global model's test accuracy.
#
#   apt-get install -y openjdk-17-jdk-headless dataset-fashion-mnist   # a fresh Debian 12 machine
#   examples/torchscript-cnn/run.sh
#
# Smaller or larger runs: CLIENTS, ROUNDS, EXAMPLES (per client) and OUT in the environment.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
clients="${CLIENTS:-3}"
rounds="${ROUNDS:-3}"
examples="${EXAMPLES:-1500}"
out="${OUT:-$here/run}"
model="$here/model/fmnist_cnn.pt"
data=/usr/share/datasets/fashion-mnist

rm -rf "$out"
"$root/pqfl" simulate \
  --trainer djl --trainer-option torchscript="$model" --trainer-option input-shape=1,28,28 \
  --data "$data" --clients "$clients" --rounds "$rounds" --examples-per-client "$examples" \
  --schemes ML-DSA-65 --transport tls --learning-rate 0.005 --batch-size 32 \
  --out "$out" | tee "$out.log"

"$root/pqfl" model export --run "$out" --out "$out/global.safetensors"
"$root/pqfl" model verify "$out/global.safetensors"

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$here/load_federated.py" "$out/global.safetensors" --model "$model" --data "$data" \
    --save "$out/federated_cnn.pt"
else
  echo "(python3-torch is not installed: skipping the PyTorch check)"
  sed -n 's/.*accuracy [0-9.]* -> \([0-9.]*\).*/test accuracy \1/p' "$out.log" | tail -1
fi
