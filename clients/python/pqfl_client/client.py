"""The client agent: Hello, poll tasks, verify, train through the hook, sign, upload (docs/CLIENT.md, "What the
agent does each round"; docs/PROTOCOL.md for the service and the statements).

Plaintext gRPC only: pqfl's TLS needs ML-DSA certificates and the X25519MLKEM768 key exchange, which grpcio on
OpenSSL 3.0 cannot do. Updates and models are still signed and verified over plaintext.
"""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import grpc
import numpy as np

from . import encoding, tensors
from ._stubs import load as load_stubs
from .keys import PublicKey
from .signers import NoBackendError, Signer, Verifier, make_verifier
from .training import TrainConfig, apply_result

log = logging.getLogger("pqfl_client")

SESSION_HEADER = "pqfl-session"
REJECT_TRAILER = "pqfl-reject-reason"
ACCEPTED_SEQ_TRAILER = "pqfl-accepted-ledger-seq"
ACCEPTED_DIGEST_TRAILER = "pqfl-accepted-update-digest"

# Refusals that will not change by trying again: the client stops and says why.
PERMANENT = {"BAD_SIGNATURE", "SCHEME_NOT_ACCEPTED", "KEY_MISMATCH", "UNKNOWN_CLIENT", "REVOKED_KEY",
             "PROOF_INVALID", "MANIFEST_MISMATCH", "SESSION_MISMATCH", "WRONG_FEDERATION"}
RETRYABLE = {"BUSY", "RATE_LIMITED"}


class ClientError(Exception):
    """A reason to stop, with the exit code (1: failed, 3: no signature backend)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class TaskRefused(Exception):
    pass


@dataclass
class _Task:
    header: object
    model: bytes
    digest: bytes
    manifest: tensors.Manifest
    signature: object


def _reason(e: grpc.RpcError) -> str:
    """'REASON: detail' from the status (the trailer pqfl-reject-reason names the reason too)."""
    detail = (e.details() or "") if hasattr(e, "details") else str(e)
    try:
        for k, v in (e.trailing_metadata() or ()):
            if k == REJECT_TRAILER and not detail.startswith(v):
                return f"{v}: {detail}"
    except Exception:
        pass
    return detail


def _accepted_earlier(e: grpc.RpcError, update_digest: bytes):
    """The ledger entry a DUPLICATE names when the update the coordinator accepted earlier is this one (same digest):
    an earlier attempt was accepted and its answer lost. None for anything else (docs/PROTOCOL.md, "Retries")."""
    if _reason_code(e) != "DUPLICATE":
        return None
    try:
        trailers = dict(e.trailing_metadata() or ())
        seq, digest = trailers.get(ACCEPTED_SEQ_TRAILER), trailers.get(ACCEPTED_DIGEST_TRAILER)
        if seq is not None and digest is not None and bytes.fromhex(digest) == update_digest:
            return int(seq)
    except (ValueError, TypeError, AttributeError):
        pass
    return None


def _reason_code(e: grpc.RpcError) -> str:
    try:
        for k, v in (e.trailing_metadata() or ()):
            if k == REJECT_TRAILER:
                return v
    except Exception:
        pass
    d = (e.details() or "") if hasattr(e, "details") else ""
    head = d.split(":", 1)[0].strip()
    return head if head.replace("_", "").isalpha() and head.isupper() else ""


class Client:
    """One client of one federation. `run()` returns when the federation finished (0) or raises ClientError."""

    def __init__(self, target: str, client_id: str, signer: Signer, coordinator_key: PublicKey,
                 train_hook: Callable, evaluate_hook: Optional[Callable] = None, *, verifier_backend: str = "auto",
                 unsigned_baseline: bool = False, poll_s: float = 20.0, rpc_timeout_s: float = 30.0,
                 connect_timeout_s: float = 30.0, give_up_s: float = 120.0, state_file: str | None = None,
                 seed: int = 0, agent: str | None = None) -> None:
        self.pb2, self.pb2_grpc = load_stubs()
        self.target = target
        self.client_id = client_id
        self.signer = signer
        self.coordinator_key = coordinator_key
        self.train_hook = train_hook
        self.evaluate_hook = evaluate_hook
        self.unsigned = unsigned_baseline
        self.poll_s = max(1.0, min(float(poll_s), 30.0))
        self.rpc_timeout_s = rpc_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.give_up_s = give_up_s
        self.seed = seed
        self.agent = agent or f"pqfl-python-client/0.1 ({socket.gethostname()}; numpy {np.__version__}; " \
                              f"signer {signer.backend})"
        try:
            self.verifier: Optional[Verifier] = make_verifier(coordinator_key, verifier_backend)
        except NoBackendError as e:
            if not unsigned_baseline:
                raise ClientError(f"cannot verify the coordinator's signatures, so refusing to join: {e}", 3)
            log.warning("UNSIGNED BASELINE and %s: the coordinator's task and model signatures are NOT verified "
                        "(model digests still are)", e)
            self.verifier = None
        self.state_file = Path(state_file) if state_file else None
        self.state = self._load_state()
        self.channel = None
        self.stub = None
        self.federation_id = ""
        self.token = ""
        self.session_expires_ms = 0
        self.accepted = 0
        self.evaluations = 0

    # ---------------------------------------------------------------------------------------------- state

    def _load_state(self) -> dict:
        if self.state_file and self.state_file.exists():
            try:
                return json.loads(self.state_file.read_text())
            except (OSError, ValueError) as e:
                raise ClientError(f"{self.state_file}: unreadable client state ({e})")
        return {}

    def _state_key(self) -> str:
        return f"{self.federation_id}|{self.coordinator_key.key_id}"

    def _remember(self, round_: int, model_round: int) -> None:
        s = self.state.setdefault(self._state_key(), {"round": 0, "model_round": 0})
        s["round"] = max(s["round"], round_)
        s["model_round"] = max(s["model_round"], model_round)
        if self.state_file:
            tmp = self.state_file.with_suffix(".tmp")
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.state, indent=1))
            os.replace(tmp, self.state_file)

    # ---------------------------------------------------------------------------------------------- session

    def _meta(self):
        return ((SESSION_HEADER, self.token),)

    def connect(self) -> None:
        self.channel = grpc.insecure_channel(self.target, options=[
            ("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)])
        try:
            grpc.channel_ready_future(self.channel).result(timeout=self.connect_timeout_s)
        except grpc.FutureTimeoutError:
            raise ClientError(f"coordinator {self.target} not reachable within {self.connect_timeout_s:.0f} s "
                              f"(plaintext gRPC; is it running with --plaintext?)")
        self.stub = self.pb2_grpc.FederationStub(self.channel)

    def hello(self) -> None:
        pb2, pin = self.pb2, self.coordinator_key
        for attempt in range(1, 6):
            try:
                ch = self.stub.GetChallenge(pb2.ChallengeRequest(client_id=self.client_id),
                                            timeout=self.rpc_timeout_s)
                if ch.coordinator_key_id and ch.coordinator_key_id != pin.key_id:
                    raise ClientError(f"the coordinator's key is {ch.coordinator_key_id}, not the pinned "
                                      f"{pin.key_id}: refusing to say hello to it")
                statement = encoding.session_statement(
                    federation_id=ch.federation_id, coordinator_key_id=pin.key_id, client_id=self.client_id,
                    key_id=self.signer.key_id, scheme=self.signer.scheme, challenge=ch.challenge)
                resp = self.stub.Hello(pb2.HelloRequest(
                    client_id=self.client_id, key_id=self.signer.key_id, scheme=self.signer.scheme,
                    agent=self.agent, challenge=ch.challenge, signature=self.signer.sign(statement)),
                    timeout=self.rpc_timeout_s)
            except grpc.RpcError as e:
                code, reason = e.code(), _reason_code(e)
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED or code == grpc.StatusCode.UNAVAILABLE \
                        or reason == "CHALLENGE_INVALID":
                    self._backoff(attempt, f"Hello: {_reason(e)}")
                    continue
                raise ClientError(f"the coordinator refused Hello: {code.name} {_reason(e)}")
            if resp.coordinator_key_id != pin.key_id:
                raise ClientError(f"the coordinator signs with key {resp.coordinator_key_id}, not the pinned "
                                  f"{pin.key_id}")
            if resp.coordinator_scheme and resp.coordinator_scheme != pin.scheme:
                raise ClientError(f"the coordinator's scheme is {resp.coordinator_scheme}, the pinned key's is "
                                  f"{pin.scheme}")
            if resp.federation_id != ch.federation_id:
                raise ClientError(f"Hello answered for federation {resp.federation_id!r}, the challenge was for "
                                  f"{ch.federation_id!r}")
            self.federation_id = resp.federation_id
            self.token = resp.session_token
            self.session_expires_ms = resp.session_expires_unix_ms
            log.info("Joined federation %s at %s as %s (%s key %s, signer %s)%s", self.federation_id, self.target,
                     self.client_id, self.signer.scheme, self.signer.key_id, self.signer.backend,
                     "; UNSIGNED BASELINE: updates are sent without signatures" if self.unsigned else "")
            return
        raise ClientError("Hello kept failing; giving up")

    def _backoff(self, attempt: int, why: str) -> None:
        ceiling = min(30.0, 0.25 * (2 ** min(attempt, 8)))
        wait = random.uniform(ceiling / 2, ceiling)
        log.info("%s; retrying in %.1f s", why, wait)
        time.sleep(wait)

    # ---------------------------------------------------------------------------------------------- tasks

    def _get_task(self) -> Optional[_Task]:
        """The next task, or None when none arrived within the poll. Raises grpc.RpcError for the caller."""
        pb2 = self.pb2
        stream = self.stub.GetTask(pb2.TaskRequest(client_id=self.client_id, wait_ms=int(self.poll_s * 1000)),
                                   metadata=self._meta(), timeout=self.poll_s + self.rpc_timeout_s + 60)
        header, digester, manifest, parts, signature = None, None, None, [], None
        received = 0
        for chunk in stream:
            part = chunk.WhichOneof("part")
            if part == "header":
                if header is not None:
                    raise TaskRefused("a second task header in one stream")
                header = chunk.header
                try:
                    manifest = tensors.Manifest.from_proto(header.manifest)
                except ValueError as e:
                    raise TaskRefused(f"manifest: {e}")
                digester = tensors.Digester(manifest)
            elif part == "model_chunk":
                if header is None or signature is not None:
                    raise TaskRefused("model bytes out of order")
                received += len(chunk.model_chunk)
                if received > manifest.byte_count:
                    raise TaskRefused(f"more model bytes than the manifest's {manifest.byte_count}")
                digester.update(chunk.model_chunk)
                parts.append(chunk.model_chunk)
            elif part == "model_signature":
                if header is None or signature is not None:
                    raise TaskRefused("model signature out of order")
                signature = chunk.model_signature
        if header is None:
            return None
        if signature is None:
            raise TaskRefused("the task stream ended without the model signature")
        if received != manifest.byte_count:
            raise TaskRefused(f"{received} model bytes, the manifest describes {manifest.byte_count}")
        return _Task(header, b"".join(parts), digester.digest(), manifest, signature)

    def _verify_task(self, t: _Task) -> int:
        """Every check of docs/CLIENT.md step 2 this client can make; returns the task kind."""
        h, ms, pin = t.header, t.signature, self.coordinator_key
        if h.client_id != self.client_id:
            raise TaskRefused(f"the task is for client {h.client_id!r}")
        if h.federation_id != self.federation_id:
            raise TaskRefused(f"the task is for federation {h.federation_id!r}, not {self.federation_id!r}")
        kind = int(h.kind)
        if kind not in (encoding.TASK_KIND_TRAIN, encoding.TASK_KIND_EVALUATE):
            raise TaskRefused(f"task kind {kind} is neither TRAIN nor EVALUATE")
        if kind == encoding.TASK_KIND_TRAIN and not h.model_round < h.round:
            raise TaskRefused(f"TRAIN task of round {h.round} on a model of round {h.model_round}")
        if kind == encoding.TASK_KIND_EVALUATE and h.model_round != h.round:
            raise TaskRefused(f"EVALUATE task of round {h.round} on a model of round {h.model_round}")
        if len(h.nonce) != 32:
            raise TaskRefused(f"a nonce of {len(h.nonce)} bytes")
        c = h.config
        statement = encoding.task_statement(
            federation_id=h.federation_id, kind=kind, round=h.round, nonce=h.nonce, client_id=h.client_id,
            model_round=h.model_round, model_digest=t.digest, local_epochs=c.local_epochs, batch_size=c.batch_size,
            learning_rate=c.learning_rate, proximal_mu=c.proximal_mu, optimizer=c.optimizer,
            deadline_unix_ms=h.deadline_unix_ms, scheme=pin.scheme, key_id=pin.key_id)
        if self.verifier is not None and not self.verifier.verify(statement, h.signature):
            raise TaskRefused("the coordinator's signature over the task statement does not verify with the "
                              "pinned key")
        # the model statement
        if ms.key_id != pin.key_id or ms.scheme != pin.scheme:
            raise TaskRefused(f"the model statement names key {ms.key_id} ({ms.scheme}), not the pinned "
                              f"{pin.key_id} ({pin.scheme})")
        if ms.federation_id != self.federation_id:
            raise TaskRefused(f"the model statement is for federation {ms.federation_id!r}")
        if ms.model_digest != t.digest:
            raise TaskRefused("the model bytes received do not digest to the signed model digest")
        if ms.model_round != h.model_round:
            raise TaskRefused(f"the model statement is for round {ms.model_round}, the task's model for "
                              f"{h.model_round}")
        model_statement = encoding.model_statement(
            federation_id=ms.federation_id, model_round=ms.model_round, model_digest=ms.model_digest,
            parent_model_digest=ms.parent_model_digest, ledger_head=ms.ledger_head,
            strategy_state_digest=ms.strategy_state_digest,
            receipt=[encoding.Receipt(r.client_id, r.update_digest, r.num_examples) for r in ms.receipt],
            scheme=ms.scheme, key_id=ms.key_id)
        if self.verifier is not None and not self.verifier.verify(model_statement, ms.signature):
            raise TaskRefused("the coordinator's signature over the model statement does not verify with the "
                              "pinned key")
        seen = self.state.get(self._state_key(), {"round": 0, "model_round": 0})
        if h.round < seen["round"]:
            raise TaskRefused(f"a task for round {h.round}, older than round {seen['round']} already accepted")
        if h.model_round < seen["model_round"]:
            raise TaskRefused(f"a model of round {h.model_round}, older than round {seen['model_round']} "
                              f"already trained on")
        if h.secure_aggregation:
            raise TaskRefused("the round runs secure aggregation, which this Python client does not implement")
        return kind

    def _config(self, h, evaluate: bool) -> TrainConfig:
        c = h.config
        return TrainConfig(round=h.round, local_epochs=c.local_epochs, batch_size=c.batch_size,
                           learning_rate=c.learning_rate, proximal_mu=c.proximal_mu, optimizer=c.optimizer,
                           deadline_unix_ms=h.deadline_unix_ms, model_round=h.model_round,
                           seed=(self.seed * 1_000_003 + h.round) & 0xFFFFFFFF, evaluate=evaluate)

    # ---------------------------------------------------------------------------------------------- train

    def _train(self, t: _Task) -> None:
        h, pb2 = t.header, self.pb2
        start = time.monotonic()
        global_weights = tensors.decode(t.manifest, t.model)
        config = self._config(h, False)
        try:
            out = self.train_hook({k: v.copy() for k, v in global_weights.items()}, config)
            if not isinstance(out, tuple) or len(out) not in (2, 3):
                raise TypeError("a training hook returns (weights or Delta, num_examples[, metrics])")
            result, num_examples = out[0], out[1]
            metrics = out[2] if len(out) == 3 and out[2] is not None else {}
            weights = apply_result(global_weights, result)
            if isinstance(num_examples, bool) or int(num_examples) != num_examples or int(num_examples) < 1:
                raise ValueError(f"num_examples must be an integer >= 1, the hook returned {num_examples!r}")
            num_examples = int(num_examples)
            update_manifest = tensors.manifest_of(weights, t.manifest.architecture)
            diff = t.manifest.describe_difference(update_manifest)
            if diff:
                raise ValueError(f"the trained model's tensors differ from the global model's: {diff}")
            data = tensors.wire_bytes(t.manifest, weights)
        except Exception as e:  # the hook's mistake is reported here and never sent
            log.error("Round %d: training failed, no update sent: %s: %s", h.round, type(e).__name__, e)
            self._training_failures += 1
            if self._training_failures >= 3:
                raise ClientError("training failed three rounds in a row")
            return
        self._training_failures = 0
        train_s = time.monotonic() - start
        metrics, dropped = encoding.clean_metrics(metrics)
        for d in dropped:
            log.warning("Round %d: %s; left out", h.round, d)
        metrics.setdefault("train_millis", train_s * 1000.0)
        update_digest = tensors.payload_digest(t.manifest, data)
        key_id, scheme, signature = ("", "", b"") if self.unsigned else (self.signer.key_id, self.signer.scheme, None)
        if not self.unsigned:
            signature = self.signer.sign(encoding.update_statement(
                federation_id=self.federation_id, round=h.round, nonce=h.nonce, base_model_digest=t.digest,
                client_id=self.client_id, key_id=key_id, scheme=scheme, update_digest=update_digest,
                num_examples=num_examples))
        lm = pb2.LocalMetrics(metrics=metrics)
        if "loss" in metrics:
            lm.train_loss = metrics["loss"]
        if "eval_loss" in metrics:
            lm.eval_loss = metrics["eval_loss"]
        if "eval_accuracy" in metrics and 0 <= metrics["eval_accuracy"] <= 1:
            lm.eval_accuracy = metrics["eval_accuracy"]
        if "eval_examples" in metrics and metrics["eval_examples"] >= 0:
            lm.eval_examples = int(metrics["eval_examples"])
        lm.train_millis = int(metrics["train_millis"])
        header = pb2.UpdateHeader(federation_id=self.federation_id, round=h.round, nonce=h.nonce,
                                  client_id=self.client_id, key_id=key_id, scheme=scheme,
                                  base_model_digest=t.digest, manifest=t.manifest.to_proto(pb2),
                                  num_examples=num_examples, update_bytes=len(data), metrics=lm)
        trailer = pb2.UpdateTrailer(signature=signature)

        def chunks():
            yield pb2.UpdateChunk(header=header)
            for c in tensors.chunks(data):
                yield pb2.UpdateChunk(tensor_chunk=c)
            yield pb2.UpdateChunk(trailer=trailer)

        attempt = 0
        while True:
            attempt += 1
            left_s = h.deadline_unix_ms / 1000.0 - time.time()
            if left_s <= 0:
                log.error("Round %d: the round's deadline passed before the update was accepted", h.round)
                return
            try:
                resp = self.stub.SubmitUpdate(chunks(), metadata=self._meta(),
                                              timeout=min(left_s, self.rpc_timeout_s + len(data) / 1e6))
            except grpc.RpcError as e:
                reason = _reason_code(e)
                earlier = _accepted_earlier(e, update_digest)
                if earlier is not None:
                    log.info("Round %d: the coordinator already holds this update (ledger entry %d): an earlier "
                             "attempt was accepted and its answer lost", h.round, earlier)
                    self.accepted += 1
                    self._remember(h.round, h.model_round)
                    return
                if reason == "SESSION_INVALID":
                    self.hello()
                    continue
                if reason in RETRYABLE or e.code() in (grpc.StatusCode.UNAVAILABLE,
                                                       grpc.StatusCode.DEADLINE_EXCEEDED):
                    self._backoff(attempt, f"Round {h.round}: upload: {e.code().name} {_reason(e)}")
                    continue
                if reason in PERMANENT:
                    raise ClientError(f"Round {h.round}: the coordinator refused the update: {_reason(e)} "
                                      f"({e.code().name})")
                log.error("Round %d: update refused: %s (%s)", h.round, _reason(e), e.code().name)
                return
            if not resp.accepted:
                log.error("Round %d: update not accepted (no reason given)", h.round)
                return
            if resp.update_digest and resp.update_digest != update_digest:
                raise ClientError(f"Round {h.round}: the coordinator digested other bytes than were sent")
            self.accepted += 1
            self._remember(h.round, h.model_round)
            extra = "".join(f", {k} {metrics[k]:.4f}" for k in ("loss", "eval_accuracy") if k in metrics)
            log.info("Round %d: update accepted (ledger entry %d): %d examples%s, trained in %.2f s, %s",
                     h.round, resp.ledger_seq, num_examples, extra, train_s,
                     "UNSIGNED" if self.unsigned else f"signed {scheme}")
            return

    # ---------------------------------------------------------------------------------------------- evaluate

    def _evaluate(self, t: _Task) -> None:
        h, pb2 = t.header, self.pb2
        if self.evaluate_hook is None:
            log.warning("Round %d: an EVALUATE task, but no evaluation hook; nothing sent", h.round)
            return
        try:
            out = self.evaluate_hook(tensors.decode(t.manifest, t.model), self._config(h, True))
            loss, n = float(out[0]), out[1]
            metrics = out[2] if len(out) > 2 and out[2] is not None else {}
            encoding.check_finite(loss, "loss")
            if isinstance(n, bool) or int(n) != n or int(n) < 1:
                raise ValueError(f"num_examples must be an integer >= 1, the hook returned {n!r}")
            n = int(n)
        except Exception as e:
            log.error("Round %d: evaluation failed, nothing sent: %s: %s", h.round, type(e).__name__, e)
            return
        metrics, dropped = encoding.clean_metrics(metrics)
        for d in dropped:
            log.warning("Round %d: %s; left out", h.round, d)
        key_id, scheme, signature = ("", "", b"") if self.unsigned else (self.signer.key_id, self.signer.scheme, None)
        if not self.unsigned:
            signature = self.signer.sign(encoding.evaluation_statement(
                federation_id=self.federation_id, round=h.round, nonce=h.nonce, client_id=self.client_id,
                model_digest=t.digest, loss=loss, num_examples=n, metrics=metrics, scheme=scheme, key_id=key_id))
        report = pb2.EvaluationReport(federation_id=self.federation_id, round=h.round, nonce=h.nonce,
                                      client_id=self.client_id, model_digest=t.digest, loss=loss, num_examples=n,
                                      metrics=metrics, key_id=key_id, scheme=scheme, signature=signature)
        for attempt in range(1, 6):
            try:
                resp = self.stub.SubmitEvaluation(report, metadata=self._meta(), timeout=self.rpc_timeout_s)
            except grpc.RpcError as e:
                reason = _reason_code(e)
                if reason == "SESSION_INVALID":
                    self.hello()
                    continue
                if reason in RETRYABLE or e.code() == grpc.StatusCode.UNAVAILABLE:
                    self._backoff(attempt, f"Round {h.round}: evaluation: {_reason(e)}")
                    continue
                if reason in PERMANENT:
                    raise ClientError(f"Round {h.round}: the coordinator refused the evaluation: {_reason(e)}")
                log.error("Round %d: evaluation refused: %s (%s)", h.round, _reason(e), e.code().name)
                return
            self.evaluations += 1
            self._remember(h.round, h.model_round)
            acc = f", accuracy {metrics['accuracy']:.4f}" if "accuracy" in metrics else ""
            log.info("Round %d: evaluation accepted (ledger entry %d): loss %.4f on %d examples%s", h.round,
                     resp.ledger_seq, loss, n, acc)
            return

    # ---------------------------------------------------------------------------------------------- loop

    def run(self) -> int:
        self._training_failures = 0
        self.connect()
        self.hello()
        refusals, unreachable_since, attempt = 0, None, 0
        try:
            while True:
                if self.session_expires_ms and time.time() * 1000 > self.session_expires_ms - 30_000:
                    self.hello()
                try:
                    task = self._get_task()
                    unreachable_since, attempt = None, 0
                except TaskRefused as e:
                    refusals += 1
                    log.error("Refusing the task: %s", e)
                    if refusals >= 3:
                        raise ClientError("three tasks refused in a row; stopping")
                    continue
                except grpc.RpcError as e:
                    code, reason = e.code(), _reason_code(e)
                    if code == grpc.StatusCode.NOT_FOUND:       # NO_TASK within the wait: poll again
                        continue
                    if code == grpc.StatusCode.OUT_OF_RANGE:    # FINISHED
                        log.info("Federation %s finished: %d updates and %d evaluations accepted from %s",
                                 self.federation_id, self.accepted, self.evaluations, self.client_id)
                        return 0
                    if reason == "SESSION_INVALID":
                        self.hello()
                        continue
                    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED):
                        unreachable_since = unreachable_since or time.monotonic()
                        if time.monotonic() - unreachable_since > self.give_up_s:
                            raise ClientError(f"no task from {self.target} for {self.give_up_s:.0f} s: "
                                              f"{code.name} {_reason(e)}")
                        attempt += 1
                        self._backoff(attempt, f"GetTask: {code.name} {_reason(e)}")
                        continue
                    raise ClientError(f"GetTask failed: {code.name} {_reason(e)}")
                if task is None:
                    continue
                try:
                    kind = self._verify_task(task)
                except TaskRefused as e:
                    refusals += 1
                    log.error("Refusing the task of round %d: %s", task.header.round, e)
                    if refusals >= 3:
                        raise ClientError("three tasks refused in a row; stopping")
                    continue
                refusals = 0
                if kind == encoding.TASK_KIND_TRAIN:
                    self._train(task)
                else:
                    self._evaluate(task)
        finally:
            if self.channel is not None:
                self.channel.close()
