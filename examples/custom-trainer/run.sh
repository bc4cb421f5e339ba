#!/usr/bin/env bash
# Federates a trainer written in plain Java without DJL: softmax regression on float arrays (src/main/java), in its
# own jar (target/logreg-trainer.jar), loaded by `pqfl simulate --trainer-jar` and found by its ServiceLoader
# name `logreg`. It reads scikit-learn's wine data itself (178 rows, 13 features, 3 classes); every virtual client
# gets the options partition=K/N, client-index and clients from the simulation. 3 clients over loopback TLS 1.3
# (X25519MLKEM768), updates and global models signed with ML-DSA-65. The last line printed is the global model's
# accuracy on the held-out rows, as the simulation's evaluator (one more logreg trainer, partition=all) measures it.
#
#   examples/custom-trainer/run.sh                          # from a clean clone; needs a JDK 17+, apt-get and dpkg
#   PQFL_EXAMPLE_QUICK=1 examples/custom-trainer/run.sh     # fewer rounds (CI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ "${PQFL_EXAMPLE_QUICK:-0}" = "1" ]; then rounds=3; else rounds=10; fi
jar="$here/target/logreg-trainer.jar"
run="$here/run"

"$root/examples/sklearn-data.sh" "$here/data"
"$root/pqfl" --version >/dev/null   # builds pqfl, and with it this module, on first use
if [ ! -f "$jar" ]; then
  echo "==> building $jar" >&2
  (cd "$root" && ./mvnw -q -B -DskipTests -pl examples/custom-trainer -am package) >&2
fi
rm -rf "$run"
mkdir -p "$run"

if ! "$root/pqfl" simulate --schemes ML-DSA-65 --transport tls --clients 3 --rounds "$rounds" \
    --trainer-jar "$jar" --trainer logreg \
    --data "$here/data/wine_data.csv" --data-format sklearn --standardize --trainer-option eval-fraction=0.25 \
    --local-epochs 5 --batch-size 8 --learning-rate 0.05 \
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
