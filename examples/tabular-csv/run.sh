#!/usr/bin/env bash
# Federated classification of scikit-learn's breast cancer data (569 rows, 30 features, 2 classes) from its CSV
# file: a simulated federation of 3 clients over loopback TLS 1.3 (X25519MLKEM768), every update and global model
# signed with ML-DSA-65, each client training the DJL trainer's `dense` network (30 -> 64 -> 2) on its own
# standardised share. Then the final global model is exported as safetensors with its signed statement. The last
# line printed is the global model's accuracy on the held-out test rows.
#
#   examples/tabular-csv/run.sh                          # from a clean clone; needs a JDK 17+, apt-get and dpkg
#   PQFL_EXAMPLE_QUICK=1 examples/tabular-csv/run.sh     # fewer rounds (CI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ "${PQFL_EXAMPLE_QUICK:-0}" = "1" ]; then rounds=3; else rounds=5; fi
run="$here/run"

"$root/examples/sklearn-data.sh" "$here/data"
"$root/pqfl" --version >/dev/null   # builds pqfl on first use
rm -rf "$run"
mkdir -p "$run"

if ! "$root/pqfl" simulate --schemes ML-DSA-65 --transport tls --clients 3 --rounds "$rounds" \
    --data "$here/data/breast_cancer.csv" --data-format sklearn --standardize --test-fraction 0.2 \
    --trainer-option model=dense --examples-per-client 0 --local-epochs 2 --batch-size 16 --learning-rate 0.01 \
    --out "$run/simulation" 2>"$run/pqfl.log"; then
  tail -n 20 "$run/pqfl.log" >&2
  echo "run.sh: pqfl simulate failed; its log is $run/pqfl.log" >&2
  exit 1
fi

"$root/pqfl" model export --data-dir "$run/simulation/arm-ML-DSA-65/data" --out "$run/global.safetensors"
"$root/pqfl" model verify "$run/global.safetensors" \
  --coordinator-key "$run/simulation/arm-ML-DSA-65/coordinator.pub" | sed 's/^/  /'

accuracy="$(sed -n 's/.*"finalAccuracy" *: *\([0-9.eE+-]*\).*/\1/p' "$run/simulation/results.json" | head -n 1)"
if [ -z "$accuracy" ]; then
  echo "run.sh: no final accuracy in $run/simulation/results.json" >&2
  exit 1
fi
printf 'final accuracy %.3f\n' "$accuracy"
