#!/usr/bin/env bash
# Puts scikit-learn's bundled CSV datasets (breast_cancer.csv, wine_data.csv, iris.csv) into DIR, unless they are
# there already, without installing scikit-learn: it downloads Debian's python3-sklearn package with
# `apt-get download` and extracts the files with `dpkg -x`. Used by the examples' run.sh scripts.
#
#   examples/sklearn-data.sh DIR
set -euo pipefail
dest="${1:?usage: sklearn-data.sh DIR}"
files=(breast_cancer.csv wine_data.csv iris.csv)
missing=0
for f in "${files[@]}"; do
  [ -f "$dest/$f" ] || missing=1
done
[ "$missing" = 0 ] && exit 0

for tool in apt-get dpkg; do
  if ! command -v "$tool" >/dev/null; then
    echo "sklearn-data.sh: $tool is missing: this fetches the data from Debian's python3-sklearn package." >&2
    echo "  Elsewhere, copy ${files[*]} from scikit-learn's sklearn/datasets/data/ into $dest" >&2
    exit 1
  fi
done
echo "==> fetching scikit-learn's CSV datasets from Debian's python3-sklearn package (not installing it) into $dest" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
download() { (cd "$tmp" && apt-get download -qq python3-sklearn) >"$tmp/apt.log" 2>&1; }
if ! download; then
  # A fresh machine may have no package lists yet.
  if [ "$(id -u)" = "0" ] && apt-get update -qq >>"$tmp/apt.log" 2>&1 && download; then
    :
  else
    cat "$tmp/apt.log" >&2
    echo "sklearn-data.sh: 'apt-get download python3-sklearn' failed (run 'sudo apt-get update' first?)" >&2
    exit 1
  fi
fi
dpkg -x "$tmp"/python3-sklearn_*.deb "$tmp/pkg"
mkdir -p "$dest"
for f in "${files[@]}"; do
  cp "$tmp/pkg/usr/lib/python3/dist-packages/sklearn/datasets/data/$f" "$dest/$f"
done
echo "==> $(cd "$dest" && wc -l "${files[@]}" | tail -1 | awk '{print $1}') lines of CSV in $dest" >&2
