"""Command line: python3 -m pqfl_client --coordinator HOST:PORT --client-id ID --key FILE --coordinator-key FILE
--plaintext [...]

Exit codes: 0 the federation finished (or SIGTERM); 1 the client failed or was refused (the message says why);
2 a bad command line; 3 no signature backend for a key's scheme (the message says what to install).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

from . import signers
from .keys import KeyFormatError, read_private_key, read_public_key
from .training import FASHION_MNIST


def _load_callable(spec: str, what: str):
    if ":" not in spec:
        raise SystemExit(f"pqfl_client: {what} {spec!r}: expected MODULE:CALLABLE")
    mod, name = spec.split(":", 1)
    try:
        obj = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as e:
        print(f"pqfl_client: {what} {spec!r}: {e}", file=sys.stderr)
        sys.exit(2)
    return obj


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m pqfl_client", description=(
        "pqfl's Python client: joins a federation of a pqfl coordinator (run with --plaintext), verifies every task "
        "and global model against the pinned coordinator key, trains with a NumPy-style hook and signs every "
        "update with ML-DSA (dilithium-py or liboqs-python) or the classical Ed25519 baseline."))
    p.add_argument("--coordinator", help="HOST:PORT of the coordinator")
    p.add_argument("--client-id", help="this client's enrolled id")
    p.add_argument("--key", help="this client's private key (PEM PKCS#8, as `pqfl keys generate` writes it)")
    p.add_argument("--public-key", help="its public key (default: NAME.pub beside NAME.key, when there)")
    p.add_argument("--coordinator-key", help="the coordinator's public key (.pub), pinned")
    p.add_argument("--plaintext", action="store_true",
                   help="plaintext gRPC (required: this client cannot speak pqfl's post-quantum TLS)")
    p.add_argument("--signer", default="auto", choices=signers.BACKENDS,
                   help="ML-DSA backend (auto: liboqs-python, then dilithium-py)")
    p.add_argument("--unsigned-baseline", action="store_true",
                   help="research baseline only: send updates and evaluations unsigned (the coordinator must run "
                        "SigningPolicy.UNSIGNED_BASELINE; a signed coordinator refuses them with BAD_SIGNATURE)")
    p.add_argument("--hook", help="MODULE:CALLABLE, a training hook train(weights, config) (default: NumPy MLP "
                                  "on Fashion-MNIST)")
    p.add_argument("--eval-hook", help="MODULE:CALLABLE, an evaluation hook evaluate(weights, config)")
    p.add_argument("--data", default=FASHION_MNIST, help="Fashion-MNIST IDX directory for the default hook")
    p.add_argument("--partition", default="all", help="all, FROM-TO or K/N (default hook)")
    p.add_argument("--eval-fraction", type=float, default=0.1, help="held-out share of the partition (default hook)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--poll", type=float, default=20, help="seconds a task poll may wait at the coordinator (<= 30)")
    p.add_argument("--rpc-timeout", type=float, default=30, help="seconds for each unary call")
    p.add_argument("--connect-timeout", type=float, default=30)
    p.add_argument("--give-up", type=float, default=120, help="seconds without a coordinator before failing")
    p.add_argument("--state-file", help="JSON file remembering the newest task and model round accepted")
    p.add_argument("--check-backends", action="store_true", help="print which signature backends load, and exit")
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("pqfl_client")
    if args.check_backends:
        for name, ok in signers.available_backends().items():
            print(f"{name}: {'available' if ok else 'not installed'}")
        return 0
    missing = [o for o in ("coordinator", "client_id", "key", "coordinator_key") if not getattr(args, o)]
    if missing:
        print(f"pqfl_client: missing {', '.join('--' + m.replace('_', '-') for m in missing)}", file=sys.stderr)
        return 2
    if not args.plaintext:
        print("pqfl_client: give --plaintext: this client speaks plaintext gRPC only (pqfl's TLS uses ML-DSA "
              "certificates and the X25519MLKEM768 key exchange, which grpcio on OpenSSL 3.0 cannot do); the "
              "coordinator must run with --plaintext. Updates and models are still signed and verified.",
              file=sys.stderr)
        return 2
    try:
        key = read_private_key(args.key, args.public_key)
        coordinator_key = read_public_key(args.coordinator_key)
    except KeyFormatError as e:
        print(f"pqfl_client: {e}", file=sys.stderr)
        return 1
    try:
        signer = signers.make_signer(key, args.signer)
    except signers.NoBackendError as e:
        log.error("Refusing to join: %s", e)
        return 3
    except KeyFormatError as e:
        log.error("%s", e)
        return 1
    if args.hook:
        train = _load_callable(args.hook, "--hook")
        evaluate = _load_callable(args.eval_hook, "--eval-hook") if args.eval_hook else None
    else:
        from .training import FashionMnistMLP
        try:
            model = FashionMnistMLP(args.data, args.partition, args.eval_fraction, args.seed)
        except (OSError, ValueError) as e:
            log.error("Data: %s", e)
            return 1
        log.info("Default hook: pqfl's mlp on Fashion-MNIST %s, partition %s: %d training and %d held-out examples",
                 args.data, args.partition, len(model.y_train), len(model.y_eval))
        train = model.train
        evaluate = _load_callable(args.eval_hook, "--eval-hook") if args.eval_hook else model.evaluate

    from .client import Client, ClientError   # imports grpc and the stubs

    def stop(signum, frame):
        log.info("Stopped by signal %d", signum)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    try:
        client = Client(args.coordinator, args.client_id, signer, coordinator_key, train, evaluate,
                        verifier_backend=args.signer, unsigned_baseline=args.unsigned_baseline, poll_s=args.poll,
                        rpc_timeout_s=args.rpc_timeout, connect_timeout_s=args.connect_timeout,
                        give_up_s=args.give_up, state_file=args.state_file, seed=args.seed)
        return client.run()
    except ClientError as e:
        log.error("%s", e)
        return e.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
