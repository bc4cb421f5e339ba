#!/usr/bin/env bash
# End-to-end check of the Node.js client (clients/node) against the Java coordinator, run from the repository root:
#   clients/node/ci.sh
# 1. npm ci and the unit tests (node --test: test vectors, statements, keys, tensors, trainer);
# 2. a coordinator key, a Java client key (./pqfl keys generate) and a Node client key (keygen), both clients in the
#    trust directory (./pqfl trust add);
# 3. ./pqfl coordinator --plaintext on a free loopback port, 3 rounds, --min-clients 2: a mixed federation of one
#    Java client (./pqfl client) and the Node client;
# 4. the Node client for 2 rounds: both updates ACCEPTED; then with --tamper (the update altered after signing):
#    REFUSED with BAD_SIGNATURE; then again, honestly, until the federation finishes: round 3 ACCEPTED;
# 5. ./pqfl ledger verify (the Java side re-verifies every signature, the Node client's included) and
#    ./pqfl ledger export, whose entries the Node side re-verifies with noble and counts: 3 accepted and 1
#    BAD_SIGNATURE-refused update of the Node client, 3 accepted of the Java client.
# Needs: node >= 20 with npm, a JDK 17+, the built launcher (./pqfl builds it on first use), Fashion-MNIST in
# /usr/share/datasets/fashion-mnist. Prints PASS/FAIL lines; exits 1 on the first failure. Logs: target/ci-node-client.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
run="$root/target/ci-node-client"
node_client=(node "$root/clients/node/src/cli.js")
start=$SECONDS
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  for f in "$run"/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f"
    tail -n 15 "$f"
  done
  echo "FAIL: Node.js client end-to-end check failed after $((SECONDS - start)) s (logs in $run)"
  exit 1
}

command -v node >/dev/null || fail "node is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "node $(node --version) is too old: this client needs Node.js 20 or newer"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
  || fail "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist"

rm -rf "$run"
mkdir -p "$run"

echo "==> npm ci (clients/node)"
npm ci --prefix clients/node --silent --no-audit --no-fund >"$run/npm.log" 2>&1 || fail "npm ci"
# node_modules holds .proto files (protobufjs, grpc-js) that npm ci writes with the current time; the ./pqfl launcher
# rebuilds the jar when any *.proto under the repository is newer than it. They are not pqfl's sources: date them back
# so that they do not set off a Maven build.
find clients/node/node_modules -name '*.proto' -exec touch -d '2000-01-01 00:00:00' {} +
(cd clients/node && node --test test/) >"$run/unit.log" 2>&1 || fail "unit tests (node --test), see $run/unit.log"
pass "unit tests: $(sed -n 's/^# pass //p' "$run/unit.log") passed (test vectors, statements, keys, tensors, trainer)"

echo "==> keys and trust directory"
./pqfl --version >/dev/null   # builds the launcher on first use
./pqfl keys generate --out "$run/coordinator" >"$run/keys.log" 2>&1 || fail "pqfl keys generate (coordinator)"
./pqfl keys generate --out "$run/java-client" >>"$run/keys.log" 2>&1 || fail "pqfl keys generate (java-client)"
"${node_client[@]}" keygen --out "$run/node-client" >>"$run/keys.log" 2>&1 || fail "node keygen"
./pqfl trust add --trust-dir "$run/data/trust" node-client "$run/node-client.pub" >>"$run/keys.log" 2>&1 \
  || fail "pqfl trust add did not take the Node client's SPKI PEM"
./pqfl trust add --trust-dir "$run/data/trust" java-client "$run/java-client.pub" >>"$run/keys.log" 2>&1 \
  || fail "pqfl trust add (java-client)"
pass "the Node client's ML-DSA-65 key $(sed -n 's/^Generated ML-DSA-65 key //p' "$run/keys.log" | tail -n 1) enrolled with ./pqfl trust add"

echo "==> coordinator (plaintext, loopback, 3 rounds, --min-clients 2)"
./pqfl coordinator --federation-id ci-node --key "$run/coordinator.key" --plaintext --host 127.0.0.1 --port 0 \
  --data-dir "$run/data" --rounds 3 --min-clients 2 --round-timeout 90s --metrics-port -1 --linger 5s --seed 7 \
  >"$run/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
port=""
for _ in $(seq 1 180); do
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$run/coordinator.log" | head -n 1)"
  [ -n "$port" ] && break
  kill -0 "$coordinator" 2>/dev/null || fail "the coordinator exited before listening"
  sleep 0.5
done
[ -n "$port" ] || fail "the coordinator did not listen within 90 s"
pass "coordinator listening on 127.0.0.1:$port"

echo "==> Java client (./pqfl client)"
./pqfl client --coordinator "127.0.0.1:$port" --plaintext --client-id java-client --key "$run/java-client.key" \
  --coordinator-key "$run/coordinator.pub" --partition 6000-11999 --threads 1 --poll 5 \
  --state-file "$run/java-client.state" >"$run/java-client.log" 2>&1 &
java_client=$!
pids+=("$java_client")

node_run() { # LOG ARGS...: the Node client against the coordinator, at most 180 s
  local log="$1"
  shift
  timeout 180 "${node_client[@]}" run --coordinator "127.0.0.1:$port" --plaintext --client-id node-client \
    --key "$run/node-client.key" --coordinator-key "$run/coordinator.pub" --partition 0-5999 --poll 5 --timeout 170 \
    "$@" >"$run/$log" 2>&1
}

echo "==> Node client, 2 rounds"
node_run node-1.log --max-rounds 2 || fail "the Node client's 2 rounds (exit $?)"
sed 's/^/    /' "$run/node-1.log" | grep -E 'round|joined' || true
accepted="$(grep -c 'update ACCEPTED' "$run/node-1.log" || true)"
[ "$accepted" = 2 ] || fail "expected 2 accepted Node client updates, got $accepted"
pass "Node client: rounds 1 and 2 ACCEPTED (task statements and models verified with the pinned coordinator key)"

echo "==> Node client, --tamper (update altered after signing)"
node_run node-tamper.log --tamper --max-rounds 1 || fail "the tampered run (exit $?)"
sed 's/^/    /' "$run/node-tamper.log" | grep -E 'round' || true
grep -q 'update REFUSED: BAD_SIGNATURE' "$run/node-tamper.log" \
  || fail "the tampered update was not refused with BAD_SIGNATURE"
pass "Node client: tampered update REFUSED: $(grep -o 'BAD_SIGNATURE — gRPC status [A-Z_]*' "$run/node-tamper.log" | head -n 1)"

echo "==> Node client, honest again, until the federation finishes"
node_run node-2.log || fail "the Node client's last run (exit $?)"
sed 's/^/    /' "$run/node-2.log" | grep -E 'round|finished' || true
grep -q 'round 3: update ACCEPTED' "$run/node-2.log" || fail "round 3's honest update was not accepted"
grep -q 'federation ci-node finished' "$run/node-2.log" || fail "the Node client did not see the federation finish"
pass "Node client: round 3 ACCEPTED after the refusal; federation finished"

for _ in $(seq 1 60); do
  kill -0 "$coordinator" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$coordinator" 2>/dev/null && fail "the coordinator did not exit after the federation finished"
wait "$coordinator" || fail "the coordinator exited with $?"
for _ in $(seq 1 60); do
  kill -0 "$java_client" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$java_client" 2>/dev/null && fail "the Java client did not exit after the federation finished"
wait "$java_client" || fail "the Java client exited with $?"
pass "coordinator and Java client finished (exit 0)"

echo "==> ledger"
./pqfl ledger verify "$run/data" --coordinator-key "$run/coordinator.pub" >"$run/ledger-verify.log" 2>&1 \
  || fail "pqfl ledger verify"
sed 's/^/    /' "$run/ledger-verify.log"
pass "pqfl ledger verify: hash chain intact, every signature (the Node client's included) verifies in Java"
./pqfl ledger export "$run/data" --out "$run/ledger.jsonl" >"$run/ledger-export.log" 2>&1 || fail "pqfl ledger export"
node clients/node/src/ledger-check.js "$run/ledger.jsonl" --coordinator-key "$run/coordinator.pub" \
  >"$run/ledger-check.log" 2>&1 || fail "a ledger signature does not verify with noble"
sed 's/^/    /' "$run/ledger-check.log" | grep -v '^    {'
summary="$(tail -n 1 "$run/ledger-check.log")"
count() { node -e 'const s = JSON.parse(process.argv[1]); console.log(s.counts[process.argv[2]] ?? 0)' "$summary" "$1"; }
[ "$(count 'UPDATE_ACCEPTED node-client -')" = 3 ] || fail "the ledger does not hold 3 accepted Node client updates"
[ "$(count 'UPDATE_REJECTED node-client BAD_SIGNATURE')" = 1 ] \
  || fail "the ledger does not hold the Node client's BAD_SIGNATURE refusal"
[ "$(count 'UPDATE_ACCEPTED java-client -')" = 3 ] || fail "the ledger does not hold 3 accepted Java client updates"
[ "$(count 'MODEL_PUBLISHED - -')" = 4 ] || fail "the ledger does not hold 4 published models (rounds 0-3)"
pass "ledger export re-verified with noble ($(node -p 'JSON.parse(process.argv[1]).verified' "$summary") signatures): node-client 3 UPDATE_ACCEPTED + 1 UPDATE_REJECTED BAD_SIGNATURE, java-client 3 UPDATE_ACCEPTED"

echo "PASS: Node.js client end-to-end check in $((SECONDS - start)) s"
