#!/usr/bin/env bash
# A base image for -Pimages made from Debian's packages alone, for machines that reach Debian's archive but no
# container registry: Debian bookworm (minbase) with openjdk-17-jre-headless, written as a `docker save` tarball
# that Jib takes as its base with tar://.
#   deploy/images/debian-base.sh OUT.tar            (as root; needs debootstrap: apt-get install debootstrap)
#   ./mvnw -B -Pimages -DskipTests package -Dpqfl.image.base=tar://$PWD/OUT.tar
set -euo pipefail
out="$(realpath -m "${1:?usage: $0 OUT.tar}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# debootstrap's default mirror, or DEBIAN_MIRROR.
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates bookworm "$work/rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >&2
rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
mkdir -p "$work/image"
tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/image/layer.tar" .
python3 - "$work/image" <<'PY'
import hashlib, json, sys, os
d = sys.argv[1]
h = hashlib.sha256()
with open(os.path.join(d, "layer.tar"), "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + h.hexdigest()]}}
json.dump(config, open(os.path.join(d, "config.json"), "w"))
json.dump([{"Config": "config.json", "RepoTags": ["pqfl-base-debian-jre17:bookworm"], "Layers": ["layer.tar"]}],
          open(os.path.join(d, "manifest.json"), "w"))
PY
tar -C "$work/image" -cf "$out" manifest.json config.json layer.tar
echo "$out: $(du -h "$out" | cut -f1); use -Dpqfl.image.base=tar://$out"
