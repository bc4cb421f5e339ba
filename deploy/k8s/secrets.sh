#!/usr/bin/env bash
# Packs a federation directory made by `pqfl coordinator init` into the Kubernetes Secrets the manifests here
# mount, as YAML files to `kubectl apply -f` (made offline with `kubectl create secret --dry-run=client`).
#   deploy/k8s/secrets.sh FED-DIR [OUT-DIR]        (OUT-DIR defaults to FED-DIR/k8s; namespace: PQFL_NAMESPACE or pqfl)
# Secrets:
#   pqfl-coordinator   coordinator.key, coordinator.crt, ca.crt, ca.crl        (the coordinator pod only)
#   pqfl-federation    ca.crt, ca.crl, coordinator.pub [, aggregator.pub]       (public: what clients trust and pin)
#   pqfl-clients-N     ID.key, ID.crt of every FED-DIR/clients/ID/, 50 clients per Secret (a Secret holds <= 1 MiB)
#   pqfl-postgres      POSTGRES_PASSWORD and the coordinator's jdbc-url; the password is made once and kept in
#                      FED-DIR/postgres-password (owner-only), so running this again does not lock the store out
#   pqfl-aggregator    if FED-DIR/aggregator/ exists: aggregator.key, aggregator-server.crt, ca.crt, ca.crl,
#                      coordinator.pub (docs/DEPLOYMENT.md shows how to issue them)
#   pqfl-trust         then also: aggregator-0.pub, the coordinator's trust directory for the aggregator
set -euo pipefail
fed="${1:?usage: $0 FED-DIR [OUT-DIR]}"
out="${2:-$fed/k8s}"
ns="${PQFL_NAMESPACE:-pqfl}"
per_secret=50
for f in coordinator.key coordinator.crt coordinator.pub ca/ca.crt ca/ca.crl; do
  [ -f "$fed/$f" ] || { echo "$fed/$f is missing: is $fed a directory from 'pqfl coordinator init'?" >&2; exit 1; }
done
command -v kubectl >/dev/null || { echo "kubectl is needed (it only formats the Secrets; no cluster is contacted)" >&2; exit 1; }
mkdir -p "$out"
umask 077

secret() { # NAME ARGS...: one Secret as YAML in OUT-DIR/NAME.yaml
  local name="$1"; shift
  kubectl create secret generic "$name" --namespace "$ns" --dry-run=client -o yaml "$@" > "$out/$name.yaml"
  echo "$out/$name.yaml"
}

secret pqfl-coordinator --from-file="$fed/coordinator.key" --from-file="$fed/coordinator.crt" \
  --from-file="$fed/ca/ca.crt" --from-file="$fed/ca/ca.crl"

public=(--from-file="$fed/ca/ca.crt" --from-file="$fed/ca/ca.crl" --from-file="$fed/coordinator.pub")
[ -f "$fed/aggregator/aggregator.pub" ] && public+=(--from-file="$fed/aggregator/aggregator.pub")
secret pqfl-federation "${public[@]}"

if [ -d "$fed/clients" ]; then
  shard=0; count=0; args=()
  for dir in "$fed"/clients/*/; do
    id="$(basename "$dir")"
    args+=(--from-file="$dir$id.key" --from-file="$dir$id.crt")
    count=$((count + 1))
    if [ "$count" -eq "$per_secret" ]; then
      secret "pqfl-clients-$shard" "${args[@]}"; shard=$((shard + 1)); count=0; args=()
    fi
  done
  [ "$count" -gt 0 ] && secret "pqfl-clients-$shard" "${args[@]}"
fi

if [ ! -f "$fed/postgres-password" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$fed/postgres-password")
fi
password="$(cat "$fed/postgres-password")"
secret pqfl-postgres --from-literal=POSTGRES_PASSWORD="$password" \
  --from-literal=jdbc-url="jdbc:postgresql://pqfl-postgres:5432/pqfl?user=pqfl&password=$password"

if [ -d "$fed/aggregator" ]; then
  secret pqfl-aggregator --from-file="$fed/aggregator/aggregator.key" \
    --from-file="$fed/aggregator/aggregator-server.crt" \
    --from-file="$fed/ca/ca.crt" --from-file="$fed/ca/ca.crl" --from-file="$fed/coordinator.pub"
  secret pqfl-trust --from-file=aggregator-0.pub="$fed/aggregator/aggregator.pub"
fi
echo "Apply with: kubectl apply -f $out   (namespace $ns must exist: kubectl create namespace $ns)"
