#!/usr/bin/env bash
# CI check of the Python client (clients/python), run from the repository root after `./mvnw -B verify` built the
# launcher's jars:   clients/python/ci.sh
#
#  1. Debian's python3-grpcio, -protobuf, -grpc-tools, -numpy, -cryptography (installed when missing, as root)
#  2. gRPC stubs generated from proto/src/main/protobuf/pqfl/v1/federation.proto (git-ignored output)
#  3. the unit tests: statements rebuilt byte for byte from docs/test-vectors and PROTOCOL.md's worked examples,
#     the tensor codec and payload digest, key files, signer backends, the NumPy MLP, the agent against a scripted
#     in-process coordinator
#  4. live, over real gRPC on loopback against the Java coordinator (`./pqfl coordinator --plaintext`):
#     a. two Python clients (Ed25519 keys: Debian has no ML-DSA package, see README.md) join a signed federation,
#        train pqfl's mlp on Fashion-MNIST with the NumPy hook for 2 rounds, every update and the final
#        evaluation ACCEPTED; `./pqfl ledger verify` passes with the coordinator key pinned. The same again with
#        ML-DSA-65 keys where dilithium-py or liboqs-python is installed (never the case with Debian's archive alone,
#        so that branch has not run yet)
#     b. a client whose key is ML-DSA-65 refuses to join without an ML-DSA package (exit 3, says what to install)
#     c. a client sending unsigned updates (--unsigned-baseline) to a signed coordinator is refused BAD_SIGNATURE
#        and stops with exit 1
# Prints one PASS/FAIL line per check; exits 1 on the first failure. Takes about a minute or two.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
start=$SECONDS
PY=/usr/bin/python3                      # Debian's python: the Debian python3-* packages live there
work=target/python-client-ci
pids=()

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*" >&2
  echo "python client CI: FAIL after $((SECONDS - start)) s (logs in $work/)" >&2
  exit 1
}
show() { echo "---- $1 (last 30 lines)"; tail -n 30 "$1" 2>/dev/null; echo "----"; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. packages ------------------------------------------------------------------------------------------------
if ! [ -x "$PY" ] || ! "$PY" -c 'import grpc, google.protobuf, grpc_tools, numpy, cryptography' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: python3-grpcio python3-protobuf python3-grpc-tools python3-numpy python3-cryptography"
    pkgs="python3 python3-grpcio python3-protobuf python3-grpc-tools python3-numpy python3-cryptography"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null; } ||
      fail "apt-get install $pkgs"
  else
    fail "missing Debian packages: apt-get install python3-grpcio python3-protobuf python3-grpc-tools python3-numpy python3-cryptography"
  fi
fi
fmnist=/usr/share/datasets/fashion-mnist
if [ ! -f "$fmnist/train-images-idx3-ubyte.gz" ]; then
  [ "$(id -u)" = 0 ] || fail "Fashion-MNIST missing: apt-get install dataset-fashion-mnist"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null ||
    fail "apt-get install dataset-fashion-mnist"
fi
pass "Debian packages: $("$PY" -c 'import grpc, google.protobuf as p, numpy, cryptography; print(f"grpcio {grpc.__version__}, protobuf {p.__version__}, numpy {numpy.__version__}, cryptography {cryptography.__version__}")')"

export PYTHONPATH="$root/clients/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

# ---- 2. stubs ---------------------------------------------------------------------------------------------------
out=$(timeout 120 "$PY" -c 'from pqfl_client import _stubs; print(_stubs.generate())' 2>&1) ||
  fail "stub generation from proto/src/main/protobuf/pqfl/v1/federation.proto: $out"
pass "stubs generated from proto/src/main/protobuf/pqfl/v1/federation.proto into ${out#$root/}"

# ---- 3. unit tests ----------------------------------------------------------------------------------------------
mkdir -p "$work"
if ! (cd clients/python/tests && timeout 300 "$PY" -m unittest discover -s . -p 'test_*.py' -v) > "$work/unittest.log" 2>&1; then
  show "$work/unittest.log"
  fail "unit tests (clients/python/tests)"
fi
summary=$(grep -E '^(Ran|OK|FAILED)' "$work/unittest.log" | tr '\n' ' ')
pass "unit tests: $summary"
grep -E 'skipped ' "$work/unittest.log" | sed 's/^/      /'

# ---- 4. live, against the Java coordinator ----------------------------------------------------------------------
[ -f app/target/pqfl-coordinator.jar ] || fail "app/target/pqfl-coordinator.jar is missing: build with ./mvnw -B package first"
rm -rf "$work/live" && mkdir -p "$work/live/trust-b"
cd "$work/live"
live=$PWD
pqfl() { timeout 120 "$root/pqfl" "$@"; }
have_ml_dsa=no
if "$PY" -c 'import dilithium_py.ml_dsa' 2>/dev/null || "$PY" -c 'import oqs' 2>/dev/null; then have_ml_dsa=yes; fi

# start_coordinator NAME ARGS...: runs `pqfl coordinator` (key ./coordinator.key) on a free loopback port; sets $port
start_coordinator() {
  local name=$1; shift
  "$root/pqfl" coordinator --key coordinator.key --plaintext --host 127.0.0.1 --port 0 --metrics-port -1 \
    --data-dir "data-$name" "$@" > "coordinator-$name.log" 2>&1 &
  pids+=($!)
  local pid=$! waited=0
  port=""
  while [ -z "$port" ]; do
    port=$(grep -so 'listening on 127.0.0.1:[0-9]*' "coordinator-$name.log" | head -1 | sed 's/.*://')
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { show "coordinator-$name.log"; fail "coordinator $name exited before listening"; }
    [ $waited -ge 180 ] && { show "coordinator-$name.log"; fail "coordinator $name not listening after 90 s"; }
    sleep 0.5; waited=$((waited + 1))
  done
  coordinator_pid=$pid
}
client() {   # client NAME LOG ARGS...  (key ./NAME.key, pinned ./coordinator.pub)
  local name=$1 log=$2; shift 2
  timeout 150 "$PY" -m pqfl_client --coordinator "127.0.0.1:$port" --client-id "$name" --key "$name.key" \
    --coordinator-key coordinator.pub --plaintext --poll 5 --rpc-timeout 20 --connect-timeout 20 --give-up 60 "$@" \
    > "$log" 2>&1
}

# a. federation SCHEME: a signed federation whose coordinator and two Python clients all use SCHEME keys,
#    2 rounds with both clients, every update and the final evaluation accepted, the ledger verified.
federation() {
  local scheme=$1 dir="$live/fed-$1"
  mkdir -p "$dir/trust" && cd "$dir"
  for k in coordinator alice bob; do
    pqfl keys generate --scheme "$scheme" --out "$k" >/dev/null 2>&1 || fail "pqfl keys generate --scheme $scheme --out $k"
  done
  for c in alice bob; do pqfl trust add --trust-dir trust "$c" "$c.pub" >/dev/null 2>&1 || fail "pqfl trust add $c"; done
  start_coordinator a --federation-id "py-ci-$scheme" --trust-dir trust --schemes "$scheme" --rounds 2 --min-clients 2 \
    --optimizer sgd --learning-rate 0.1 --batch-size 32 --round-timeout 90s --linger 3s
  pass "[$scheme] coordinator (signed, --schemes $scheme, 2 rounds, min 2 clients) listening on 127.0.0.1:$port"
  client alice alice.log --partition 0-2999 --seed 1 & local ca=$!
  client bob bob.log --partition 3000-5999 --seed 2 & local cb=$!
  wait $ca; local ra=$?
  wait $cb; local rb=$?
  for c in alice bob; do
    local r=$ra; [ $c = bob ] && r=$rb
    [ $r -eq 0 ] || { show $c.log; show coordinator-a.log; fail "[$scheme] client $c exited $r"; }
    for line in "Round 1: update accepted" "Round 2: update accepted" "Round 2: evaluation accepted" "finished: 2 updates and 1 evaluations accepted"; do
      grep -q "$line" $c.log || { show $c.log; show coordinator-a.log; fail "[$scheme] client $c: no '$line'"; }
    done
    echo "      $c: $(grep -c 'update accepted' $c.log) updates accepted; $(grep 'Round 2: update accepted' $c.log | sed 's/^.*Round 2: //')"
  done
  pass "[$scheme] 2 Python clients x 2 rounds: every update and evaluation accepted by the Java coordinator"
  for i in $(seq 1 60); do kill -0 "$coordinator_pid" 2>/dev/null || break; sleep 0.5; done
  grep -q 'Round 2 complete: 2 updates aggregated' coordinator-a.log || { show coordinator-a.log; fail "[$scheme] coordinator did not aggregate round 2 from 2 updates"; }
  grep 'FEDERATED evaluation of round 2' coordinator-a.log | sed 's/^.*EvaluationDriver - /      coordinator: /'
  pqfl ledger verify data-a --coordinator-key coordinator.pub > ledger-a.log 2>&1 || { show ledger-a.log; fail "[$scheme] pqfl ledger verify"; }
  grep -q '4 accepted updates, 0 rejected' ledger-a.log || { show ledger-a.log; fail "[$scheme] ledger: expected 4 accepted updates, 0 rejected"; }
  grep -q '2 accepted evaluations' ledger-a.log || { show ledger-a.log; fail "[$scheme] ledger: expected 2 accepted evaluations"; }
  pass "[$scheme] pqfl ledger verify: $(head -1 ledger-a.log); $(grep '^OK' ledger-a.log)"
  cd "$live"
}
federation Ed25519
if [ $have_ml_dsa = yes ]; then
  federation ML-DSA-65      # only where dilithium-py or liboqs-python is installed (never on Debian's archive alone)
else
  echo "      (no ML-DSA package for $PY: the ML-DSA-65 federation is skipped; pip install dilithium-py runs it)"
fi

for k in coordinator dave; do
  pqfl keys generate --scheme Ed25519 --out "$k" >/dev/null 2>&1 || fail "pqfl keys generate --scheme Ed25519 --out $k"
done
pqfl keys generate --scheme ML-DSA-65 --out erin >/dev/null 2>&1 || fail "pqfl keys generate --scheme ML-DSA-65 --out erin"
for c in dave erin; do pqfl trust add --trust-dir trust-b "$c" "$c.pub" >/dev/null 2>&1 || fail "pqfl trust add $c"; done

# b. an ML-DSA-65 key and no ML-DSA package: the client refuses to join
if [ $have_ml_dsa = yes ]; then
  echo "      (an ML-DSA package is installed here: check b is moot and skipped)"
else
  port=1   # never contacted
  client erin erin.log; r=$?
  [ $r -eq 3 ] && grep -q 'no ML-DSA package is installed.*pip install dilithium-py' erin.log ||
    { show erin.log; fail "client erin (ML-DSA-65, no backend) should exit 3 naming what to install, exited $r"; }
  pass "an ML-DSA-65 client without an ML-DSA package refuses to join (exit 3): $(grep -o 'cannot sign.*installed' erin.log)"
fi

# c. unsigned updates to a signed coordinator: refused BAD_SIGNATURE
start_coordinator b --federation-id py-ci-b --trust-dir trust-b --schemes Ed25519,ML-DSA-65 --rounds 1 \
  --min-clients 1 --round-timeout 30s --linger 1s
client dave dave.log --unsigned-baseline --partition 6000-6999; r=$?
[ $r -eq 1 ] && grep -q 'refused the update: BAD_SIGNATURE' dave.log ||
  { show dave.log; show coordinator-b.log; fail "client dave (--unsigned-baseline vs a signed coordinator) should be refused BAD_SIGNATURE and exit 1, exited $r"; }
pass "unsigned updates to a signed coordinator are refused: $(grep -o 'BAD_SIGNATURE.*' dave.log | head -1 | cut -c1-110)"
kill "$coordinator_pid" 2>/dev/null

echo "python client CI: PASS in $((SECONDS - start)) s"
