"""The agent against a scripted in-process coordinator (real gRPC on loopback, Ed25519 keys): what it sends, and
what it refuses. The fake checks the client's signatures itself, with `cryptography`, over statements built from
the wire fields; the live run in ci.sh does the same against the Java coordinator."""
import logging
import time
import unittest
from concurrent import futures

import grpc
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import support  # noqa: F401
from pqfl_client import encoding, keys, signers, tensors
from pqfl_client._stubs import load
from pqfl_client.client import Client, ClientError
from pqfl_client.training import Delta

pb2, pb2_grpc = load()
logging.getLogger("pqfl_client").setLevel(logging.CRITICAL)

MANIFEST = tensors.Manifest("tiny", (tensors.TensorSpec("w", (2, 3)), tensors.TensorSpec("b", (3,))))
GLOBAL = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([0.5, -1, 2], np.float32)}
FED = "test-fed"


def ed_key():
    sk = Ed25519PrivateKey.generate()
    der = sk.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())
    return sk, keys.parse_pkcs8(der)


class FakeCoordinator(pb2_grpc.FederationServicer):
    def __init__(self, coordinator_sk, coordinator_pub, client_pub, tasks):
        self.sk, self.pub, self.client_pub = coordinator_sk, coordinator_pub, client_pub
        self.tasks = list(tasks)           # each: dict(kind=..., tamper=None|"model"|"task-sig"|"model-sig")
        self.served = 0
        self.updates, self.evaluations, self.errors = [], [], []
        self.lose_first_answer = False    # accept the first update, then answer as if the connection broke
        self.accepted_digest = {}         # round -> (ledger seq, digest) of the update accepted in it

    def GetChallenge(self, request, context):
        self.challenge = bytes(range(32))
        return pb2.Challenge(federation_id=FED, challenge=self.challenge, coordinator_key_id=self.pub.key_id)

    def Hello(self, request, context):
        statement = encoding.session_statement(federation_id=FED, coordinator_key_id=self.pub.key_id,
                                               client_id=request.client_id, key_id=request.key_id,
                                               scheme=request.scheme, challenge=request.challenge)
        if not signers.make_verifier(self.client_pub).verify(statement, request.signature):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "PROOF_INVALID: the proof does not verify")
        return pb2.HelloResponse(federation_id=FED, coordinator_key_id=self.pub.key_id,
                                 coordinator_scheme="Ed25519", state=pb2.ROUND_OPEN, session_token="tok",
                                 session_expires_unix_ms=int(time.time() * 1000) + 600_000)

    def GetTask(self, request, context):
        if dict(context.invocation_metadata()).get("pqfl-session") != "tok":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID: no session")
        if self.served >= len(self.tasks):
            context.abort(grpc.StatusCode.OUT_OF_RANGE, "FINISHED: the federation finished")
        spec = self.tasks[self.served]
        self.served += 1
        kind = spec.get("kind", encoding.TASK_KIND_TRAIN)
        rnd = spec.get("round", self.served)
        model_round = rnd - 1 if kind == encoding.TASK_KIND_TRAIN else rnd
        data = tensors.wire_bytes(MANIFEST, GLOBAL)
        digest = tensors.payload_digest(MANIFEST, data)
        self.nonce = bytes([rnd]) * 32
        self.digest = digest
        cfg = pb2.TrainingConfig(local_epochs=1, batch_size=8, learning_rate=0.1, optimizer="sgd")
        deadline = int(time.time() * 1000) + 60_000
        signed = encoding.task_statement(
            federation_id=FED, kind=kind, round=rnd, nonce=self.nonce, client_id=request.client_id,
            model_round=model_round, model_digest=digest, local_epochs=1, batch_size=8, learning_rate=0.1,
            proximal_mu=0.0, optimizer="sgd", deadline_unix_ms=deadline, scheme="Ed25519", key_id=self.pub.key_id)
        task_sig = (Ed25519PrivateKey.generate() if spec.get("tamper") == "task-sig" else self.sk).sign(signed)
        header = pb2.TaskHeader(federation_id=FED, round=rnd, nonce=self.nonce, config=cfg,
                                manifest=MANIFEST.to_proto(pb2), model_round=model_round, model_bytes=len(data),
                                deadline_unix_ms=deadline, client_id=request.client_id, signature=task_sig,
                                kind=kind)
        ms = dict(federation_id=FED, model_round=model_round, model_digest=digest,
                  parent_model_digest=b"" if model_round == 0 else b"\1" * 64, ledger_head=b"\0" * 64,
                  strategy_state_digest=b"", receipt=[encoding.Receipt("zed", b"\2" * 64, 3),
                                                      encoding.Receipt("amy", b"\3" * 64, 4)],
                  scheme="Ed25519", key_id=self.pub.key_id)
        model_sig = self.sk.sign(encoding.model_statement(**ms))
        if spec.get("tamper") == "model-sig":
            model_sig = model_sig[:-1] + bytes([model_sig[-1] ^ 1])
        if spec.get("tamper") == "model":
            data = data[:-1] + bytes([data[-1] ^ 1])
        yield pb2.TaskChunk(header=header)
        for c in tensors.chunks(data, 7):
            yield pb2.TaskChunk(model_chunk=c)
        yield pb2.TaskChunk(model_signature=pb2.ModelSignature(
            federation_id=FED, model_round=model_round, model_digest=digest,
            parent_model_digest=ms["parent_model_digest"], ledger_head=ms["ledger_head"],
            receipt=[pb2.ReceiptEntry(client_id=r.client_id, update_digest=r.update_digest,
                                      num_examples=r.num_examples) for r in ms["receipt"]],   # unsorted on the wire
            scheme="Ed25519", key_id=self.pub.key_id, signature=model_sig))

    def SubmitUpdate(self, request_iterator, context):
        parts = list(request_iterator)
        h, trailer = parts[0].header, parts[-1].trailer
        data = b"".join(p.tensor_chunk for p in parts[1:-1])
        manifest = tensors.Manifest.from_proto(h.manifest)
        digest = tensors.payload_digest(manifest, data)
        if h.scheme:
            statement = encoding.update_statement(
                federation_id=h.federation_id, round=h.round, nonce=h.nonce, base_model_digest=h.base_model_digest,
                client_id=h.client_id, key_id=h.key_id, scheme=h.scheme, update_digest=digest,
                num_examples=h.num_examples)
            if not signers.make_verifier(self.client_pub).verify(statement, trailer.signature):
                context.set_trailing_metadata((("pqfl-reject-reason", "BAD_SIGNATURE"),))
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "BAD_SIGNATURE: does not verify")
        elif trailer.signature:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED: a signature without a scheme")
        if h.nonce != self.nonce or h.base_model_digest != self.digest:
            self.errors.append("nonce or base model")
        if h.round in self.accepted_digest:     # as the Java coordinator answers a retried upload
            seq, accepted = self.accepted_digest[h.round]
            context.set_trailing_metadata((("pqfl-reject-reason", "DUPLICATE"), ("pqfl-accepted-ledger-seq", str(seq)),
                                           ("pqfl-accepted-update-digest", accepted.hex())))
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"DUPLICATE: already accepted (ledger entry {seq})")
        self.updates.append((h, tensors.decode(manifest, data), trailer.signature))
        self.accepted_digest[h.round] = (len(self.updates), digest)
        if self.lose_first_answer and len(self.updates) == 1:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection lost before the answer arrived")
        return pb2.SubmitResponse(accepted=True, update_digest=digest, ledger_seq=len(self.updates))

    def SubmitEvaluation(self, request, context):
        statement = encoding.evaluation_statement(
            federation_id=request.federation_id, round=request.round, nonce=request.nonce,
            client_id=request.client_id, model_digest=request.model_digest, loss=request.loss,
            num_examples=request.num_examples, metrics=dict(request.metrics), scheme=request.scheme,
            key_id=request.key_id)
        if not signers.make_verifier(self.client_pub).verify(statement, request.signature):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "BAD_SIGNATURE: evaluation")
        self.evaluations.append(request)
        return pb2.EvaluationResponse(accepted=True, ledger_seq=99)


def hook(weights, config):
    assert config.optimizer == "sgd" and abs(config.learning_rate - 0.1) < 1e-7
    return Delta({k: np.ones_like(v) for k, v in weights.items()}), 10, {"loss": 0.5, "Bad Name": 1.0}


def evaluate(weights, config):
    assert config.evaluate
    return 0.25, 20, {"accuracy": 0.75}


class TestAgent(unittest.TestCase):
    def run_client(self, tasks, unsigned=False, coordinator_pub_override=None, lose_first_answer=False):
        csk, ckey = ed_key()
        coordinator_pub = signers.make_signer(ckey).public
        _, client_key = ed_key()
        signer = signers.make_signer(client_key)
        fake = FakeCoordinator(csk, coordinator_pub, signer.public, tasks)
        fake.lose_first_answer = lose_first_answer
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb2_grpc.add_FederationServicer_to_server(fake, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            c = Client(f"127.0.0.1:{port}", "alice", signer, coordinator_pub_override or coordinator_pub, hook,
                       evaluate, unsigned_baseline=unsigned, poll_s=1, rpc_timeout_s=5, connect_timeout_s=5)
            return fake, c, c.run()
        finally:
            server.stop(0)

    def test_signed_rounds_and_evaluation(self):
        fake, c, rc = self.run_client([{}, {}, {"kind": encoding.TASK_KIND_EVALUATE, "round": 2}])
        self.assertEqual((rc, len(fake.updates), len(fake.evaluations), fake.errors), (0, 2, 1, []))
        h, weights, sig = fake.updates[0]
        self.assertEqual((h.client_id, h.scheme, h.num_examples, len(sig)), ("alice", "Ed25519", 10, 64))
        for k in GLOBAL:                                   # Delta(+1) applied to the global weights
            np.testing.assert_array_equal(weights[k], GLOBAL[k] + 1)
        self.assertEqual(dict(h.metrics.metrics)["loss"], 0.5)
        self.assertNotIn("Bad Name", dict(h.metrics.metrics))   # dropped with a warning, never sent
        self.assertEqual(fake.evaluations[0].metrics["accuracy"], 0.75)

    def test_unsigned_baseline_sends_no_key_scheme_or_signature(self):
        fake, _, rc = self.run_client([{}], unsigned=True)
        h, _, sig = fake.updates[0]
        self.assertEqual((rc, h.key_id, h.scheme, sig), (0, "", "", b""))

    def test_update_accepted_whose_answer_was_lost_counts_once_as_accepted(self):
        with self.assertLogs("pqfl_client", "INFO") as logs:
            fake, c, rc = self.run_client([{}, {}], lose_first_answer=True)
        self.assertEqual((rc, len(fake.updates), c.accepted), (0, 2, 2))
        self.assertTrue(any("already holds this update (ledger entry 1)" in line for line in logs.output), logs.output)

    def test_duplicate_of_another_update_is_not_counted(self):
        e = type("E", (grpc.RpcError,), {
            "trailing_metadata": lambda self: (("pqfl-reject-reason", "DUPLICATE"), ("pqfl-accepted-ledger-seq", "7"),
                                               ("pqfl-accepted-update-digest", "ab" * 64)),
            "details": lambda self: "DUPLICATE: already accepted"})()
        from pqfl_client.client import _accepted_earlier
        self.assertEqual(_accepted_earlier(e, bytes([0xab]) * 64), 7)
        self.assertIsNone(_accepted_earlier(e, bytes([0xcd]) * 64))

    def test_refusals(self):
        # a changed model byte changes the digest the client computes, which the signed task statement binds
        for tamper, words in (("model", "task statement does not verify"), ("task-sig", "task statement does not verify"),
                              ("model-sig", "model statement does not verify")):
            with self.subTest(tamper=tamper):
                with self.assertLogs("pqfl_client", "ERROR") as logs, self.assertRaisesRegex(ClientError, "three"):
                    self.run_client([{"tamper": tamper}] * 3)
                self.assertTrue(any(words in line for line in logs.output), logs.output)

    def test_older_round_refused(self):
        with self.assertLogs("pqfl_client", "ERROR") as logs:
            fake, _, rc = self.run_client([{"round": 3}, {"round": 2}])
        self.assertEqual((rc, len(fake.updates)), (0, 1))
        self.assertTrue(any("older than round 3" in line for line in logs.output))

    def test_other_coordinator_key_refused_at_hello(self):
        _, other = ed_key()
        with self.assertRaisesRegex(ClientError, "not the pinned"):
            self.run_client([{}], coordinator_pub_override=signers.make_signer(other).public)


if __name__ == "__main__":
    unittest.main()
