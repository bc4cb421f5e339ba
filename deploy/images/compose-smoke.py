#!/usr/bin/env python3
"""Runs deploy/compose/compose.yaml's demo from the image tarballs, on a machine without a container engine.

    deploy/images/compose-smoke.py app/target        (as root; the directory holds jib-coordinator.tar, jib-client.tar)

Each image is unpacked into a root file system of its own (its layers in order) and each service runs there as the
image says a container runs: chroot into it, the compose file's user (10001:10001), the image's working directory,
environment, entry point, and the service's command. The compose volumes ./fed and ./data are bind-mounted at /fed and
/var/lib/pqfl. What differs from `docker compose up`: no network namespace, so the clients dial localhost on a free
port instead of coordinator:50051 (the certificate from `init` names localhost too), and the coordinator's metrics
endpoint is turned off; no cgroup limits. It runs the init service, the coordinator and the three clients, waits
for the clients to finish, then `pqfl ledger verify` in the coordinator image. Exit 0 when all of that succeeds.
"""
import json
import shutil
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE = os.path.join(ROOT, "deploy", "compose", "compose.yaml")
UID = GID = 10001


def unpack(image_tar, rootfs):
    """The image's layers, in order, into rootfs; returns the image's config."""
    os.makedirs(rootfs)
    with tarfile.open(image_tar) as image:
        manifest = json.load(image.extractfile("manifest.json"))[0]
        config = json.load(image.extractfile(manifest["Config"]))
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=image.extractfile(layer)) as t:
                t.extractall(rootfs, numeric_owner=True)
    return config["config"]


MOUNTED = []  # every mount point this script made, in order


def mount(*args):
    subprocess.run(["mount", *args], check=True)
    MOUNTED.append(args[-1])


def mounts_under(path):
    """Mount points at or below path, from the kernel's table (os.path.ismount misses bind mounts of one file system)."""
    prefix = os.path.realpath(path) + os.sep
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return [p for p in points if (p + os.sep).startswith(prefix)]


def prepare(rootfs, work, data):
    for d in ("fed", "var/lib/pqfl", "proc", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    mount("--bind", os.path.join(work, "fed"), os.path.join(rootfs, "fed"))
    if data:  # compose mounts ./data into the coordinator only
        mount("--bind", os.path.join(work, "data"), os.path.join(rootfs, "var/lib/pqfl"))
    mount("--bind", "/dev", os.path.join(rootfs, "dev"))
    mount("-t", "proc", "proc", os.path.join(rootfs, "proc"))


def unmount_all():
    while MOUNTED:
        point = MOUNTED.pop()
        if subprocess.run(["umount", point]).returncode != 0:
            subprocess.run(["umount", "-l", point], check=False)


def start(name, rootfs, config, args, log_dir):
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    workdir = config.get("WorkingDir") or "/"

    def enter():
        os.chroot(rootfs)
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)

    command = config["Entrypoint"] + args
    log = open(os.path.join(log_dir, name + ".log"), "w")
    print(f"==> {name}: {' '.join(command)}", flush=True)
    return subprocess.Popen(command, env=env, preexec_fn=enter, stdout=log, stderr=subprocess.STDOUT)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    images = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "app", "target")
    compose = yaml.safe_load(open(COMPOSE))
    services = compose["services"]
    port = free_port()
    work = tempfile.mkdtemp(prefix="pqfl-compose-smoke-")
    for d in ("fed", "data"):
        os.makedirs(os.path.join(work, d))
        os.chown(os.path.join(work, d), UID, GID)
    print(f"==> work directory {work}; the clients dial localhost:{port}", flush=True)
    roots = {}
    try:
        for image in ("coordinator", "client"):
            rootfs = os.path.join(work, "rootfs-" + image)
            roots[image] = (rootfs, unpack(os.path.join(images, f"jib-{image}.tar"), rootfs))
            prepare(rootfs, work, data=image == "coordinator")

        def run(name, image, args, timeout):
            p = start(name, *roots[image], args, work)
            rc = p.wait(timeout=timeout)
            if rc != 0:
                sys.exit(f"==> FAILED: {name} exited {rc}; see {work}/{name}.log")

        run("init", "coordinator", services["init"]["command"], 300)
        coordinator_args = services["coordinator"]["command"] + ["--port", str(port), "--metrics-port", "-1"]
        coordinator = start("coordinator", *roots["coordinator"], coordinator_args, work)
        time.sleep(5)
        clients = {}
        for name, service in services.items():
            if name.startswith("client-"):
                args = [a.replace("coordinator:50051", f"localhost:{port}") for a in service["command"]]
                clients[name] = start(name, *roots["client"], args, work)
        for name, p in clients.items():
            rc = p.wait(timeout=900)
            print(f"==> {name} exited {rc}: {open(os.path.join(work, name + '.log')).read().strip().splitlines()[-1]}",
                  flush=True)
            if rc != 0:
                sys.exit(f"==> FAILED: {name}; see {work}/{name}.log")
        coordinator.terminate()
        coordinator.wait(timeout=60)
        run("ledger-verify", "coordinator", ["ledger", "verify", "/var/lib/pqfl/data",
                                             "--coordinator-key", "/fed/federation/coordinator.pub"], 300)
        print(open(os.path.join(work, "ledger-verify.log")).read().strip(), flush=True)
        # Java takes "?" for user.home when no passwd entry names the user: the image must set it.
        strays = [r for r, _ in roots.values() if os.path.exists(os.path.join(r, "var/lib/pqfl/?"))]
        if strays or os.path.exists(os.path.join(work, "data", "?")):
            sys.exit("==> FAILED: a process wrote under '?' (user.home unset) in its working directory")
        print("==> the compose demo ran from the images: init, a coordinator and three clients, ledger verifies")
    finally:
        unmount_all()
    for rootfs, _ in roots.values():
        left = mounts_under(rootfs)
        if left:  # never delete through a mount (/dev is the host's, fed/ and data/ are the run's)
            print(f"==> not removing {rootfs}: still mounted there: {left}", flush=True)
        else:
            shutil.rmtree(rootfs)
    print(f"==> logs, fed/ and data/ are in {work}")


if __name__ == "__main__":
    main()
