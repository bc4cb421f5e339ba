"""Byte-exact statements: the published test vectors and PROTOCOL.md's worked examples, rebuilt from their fields.

Each vector carries a statement's bytes. The parsers below take them apart field by field as PROTOCOL.md lays them
out (and insist on consuming every byte); the client's builders must then give back the very same bytes. The worked
examples are rebuilt from the values PROTOCOL.md's tables state (no bytes taken from the vectors at all).
"""
import hashlib
import unittest

from support import doc_hex, vector, vectors  # noqa: F401  (support puts the package on sys.path)
from pqfl_client import encoding, tensors
from pqfl_client.encoding import Reader

NONCE = bytes(range(32))
CHALLENGE = bytes(range(0xA0, 0xC0))
ALICE_KEY_ID = "80e1b39740c8be95677ec2ad718010a3"
COORD_KEY_ID = "1b8a2ce0c2d07b7c555b5ff232d903d1"


def _head(r: Reader, tag: str, version: int) -> None:
    got_tag, got_version = r.string(), r.u16()
    if (got_tag, got_version) != (tag, version):
        raise AssertionError(f"statement starts {got_tag!r} v{got_version}, expected {tag!r} v{version}")


def parse_update(b: bytes) -> dict:
    r = Reader(b)
    _head(r, encoding.UPDATE_TAG, 1)
    f = dict(federation_id=r.string(), round=r.u64(), nonce=r.bytes_(), base_model_digest=r.bytes_(),
             client_id=r.string(), key_id=r.string(), scheme=r.string(), update_digest=r.bytes_(),
             num_examples=r.u64())
    r.expect_end()
    return f


def parse_session(b: bytes) -> dict:
    r = Reader(b)
    _head(r, encoding.SESSION_TAG, 1)
    f = dict(federation_id=r.string(), coordinator_key_id=r.string(), client_id=r.string(), key_id=r.string(),
             scheme=r.string(), challenge=r.bytes_())
    r.expect_end()
    return f


def parse_task(b: bytes) -> dict:
    r = Reader(b)
    _head(r, encoding.TASK_TAG, 2)
    f = dict(federation_id=r.string(), kind=r.u8(), round=r.u64(), nonce=r.bytes_(), client_id=r.string(),
             model_round=r.u64(), model_digest=r.bytes_(), local_epochs=r.u32(), batch_size=r.u32(),
             learning_rate=r.f32(), proximal_mu=r.f32(), optimizer=r.string(), deadline_unix_ms=r.u64(),
             scheme=r.string(), key_id=r.string())
    r.expect_end()
    return f


def parse_evaluation(b: bytes) -> dict:
    r = Reader(b)
    _head(r, encoding.EVALUATION_TAG, 1)
    f = dict(federation_id=r.string(), round=r.u64(), nonce=r.bytes_(), client_id=r.string(),
             model_digest=r.bytes_(), loss=r.f64(), num_examples=r.u64())
    f["metrics"] = {r.string(): r.f64() for _ in range(r.u32())}
    f.update(scheme=r.string(), key_id=r.string())
    r.expect_end()
    return f


def parse_partial(b: bytes) -> dict:
    r = Reader(b)
    _head(r, encoding.PARTIAL_AGGREGATE_TAG, 1)
    f = dict(federation_id=r.string(), round=r.u64(), nonce=r.bytes_(), base_model_digest=r.bytes_(),
             aggregator_id=r.string(), key_id=r.string(), scheme=r.string(), aggregate_digest=r.bytes_(),
             num_examples=r.u64(), child_federation_id=r.string(), child_round=r.u64(), child_nonce=r.bytes_(),
             aggregator_ledger_head=r.bytes_())
    f["receipt"] = [encoding.PartialReceipt(r.string(), r.bytes_(), r.u64(), r.string(), r.string(), r.bytes_())
                    for _ in range(r.u32())]
    r.expect_end()
    return f


PARSERS = {
    encoding.UPDATE_TAG: (parse_update, encoding.update_statement),
    encoding.SESSION_TAG: (parse_session, encoding.session_statement),
    encoding.TASK_TAG: (parse_task, encoding.task_statement),
    encoding.EVALUATION_TAG: (parse_evaluation, encoding.evaluation_statement),
    encoding.PARTIAL_AGGREGATE_TAG: (parse_partial, encoding.partial_aggregate_statement),
}


def example_manifest() -> tensors.Manifest:
    return tensors.Manifest("example", (tensors.TensorSpec("w", (2, 2)), tensors.TensorSpec("b", (2,))))


def example_digests() -> tuple[bytes, bytes]:
    import numpy as np
    m = example_manifest()
    update = tensors.wire_bytes(m, {"w": np.array([[0.5, -1.25], [2, 0.125]]), "b": np.array([1, -0.5])})
    base = tensors.wire_bytes(m, {"w": np.zeros((2, 2)), "b": np.zeros(2)})
    return tensors.payload_digest(m, update), tensors.payload_digest(m, base)


class TestVectorsRebuild(unittest.TestCase):
    """docs/test-vectors/statements.json: every statement parsed into its fields and rebuilt byte for byte."""

    def test_every_vector_rebuilds(self):
        seen = set()
        for v in vectors():
            with self.subTest(vector=v["name"]):
                statement = bytes.fromhex(v["statement"])
                parse, build = PARSERS[v["statementTag"]]
                fields = parse(statement)
                self.assertEqual(build(**fields).hex(), statement.hex())
                seen.add(v["statementTag"])
        self.assertEqual(seen, set(PARSERS), "a statement kind of the vectors is not covered")
        self.assertEqual(len(vectors()), 8)

    def test_fields_are_the_worked_examples(self):
        update_digest, base_digest = example_digests()
        u = parse_update(bytes.fromhex(vector("update")["statement"]))
        self.assertEqual(u, dict(federation_id="demo-federation", round=1, nonce=NONCE,
                                 base_model_digest=base_digest, client_id="alice", key_id=ALICE_KEY_ID,
                                 scheme="ML-DSA-44", update_digest=update_digest, num_examples=600))
        altered = parse_update(bytes.fromhex(vector("update-example-count-altered")["statement"]))
        self.assertEqual(altered["num_examples"], 601)
        t = parse_task(bytes.fromhex(vector("task")["statement"]))
        self.assertEqual((t["kind"], t["round"], t["model_round"], t["model_digest"], t["learning_rate"],
                          t["deadline_unix_ms"], t["key_id"]),
                         (1, 1, 0, base_digest, 0.0010000000474974513, 1767225600000, COORD_KEY_ID))
        s = parse_session(bytes.fromhex(vector("session")["statement"]))
        self.assertEqual((s["challenge"], s["coordinator_key_id"]), (CHALLENGE, COORD_KEY_ID))
        e = parse_evaluation(bytes.fromhex(vector("evaluation")["statement"]))
        self.assertEqual((e["loss"], e["num_examples"], e["metrics"], e["model_digest"]),
                         (0.25, 200, {"accuracy": 0.875, "mae": 0.5}, update_digest))
        p = parse_partial(bytes.fromhex(vector("partial-aggregate")["statement"]))
        self.assertEqual(p["receipt"][0].signature.hex(), vector("update")["signature"])

    def test_truncated_or_padded_statements_are_refused(self):
        statement = bytes.fromhex(vector("update")["statement"])
        with self.assertRaises(ValueError):
            parse_update(statement[:-1])
        with self.assertRaises(ValueError):
            parse_update(statement + b"\x00")


class TestWorkedExamples(unittest.TestCase):
    """PROTOCOL.md's worked examples, built from the values its tables state, against its full-statement hex."""

    def setUp(self):
        self.update_digest, self.base_digest = example_digests()

    def check(self, section, built):
        expected, count = doc_hex(section, "Full statement")
        self.assertEqual(built.hex(), expected.hex())
        self.assertEqual(len(built), count)

    def test_update_statement(self):
        self.check("Update statement", encoding.update_statement(
            federation_id="demo-federation", round=1, nonce=NONCE, base_model_digest=self.base_digest,
            client_id="alice", key_id=ALICE_KEY_ID, scheme="ML-DSA-44", update_digest=self.update_digest,
            num_examples=600))

    def test_session_statement(self):
        self.check("Session statement", encoding.session_statement(
            federation_id="demo-federation", coordinator_key_id=COORD_KEY_ID, client_id="alice",
            key_id=ALICE_KEY_ID, scheme="ML-DSA-44", challenge=CHALLENGE))

    def task(self, kind, model_round):
        return encoding.task_statement(
            federation_id="demo-federation", kind=kind, round=1, nonce=NONCE, client_id="alice",
            model_round=model_round, model_digest=self.base_digest, local_epochs=1, batch_size=32,
            learning_rate=0.001, proximal_mu=0.0, optimizer="adam", deadline_unix_ms=1767225600000,
            scheme="ML-DSA-44", key_id=COORD_KEY_ID)

    def test_task_statement(self):
        built = self.task(encoding.TASK_KIND_TRAIN, 0)
        self.check("Task statement", built)
        self.assertIn(bytes.fromhex("3a83126f00000000"), built)   # lr 0.001 and mu 0 as binary32 bits

    def test_evaluate_task_differs_in_kind_and_model_round(self):
        train, evaluate = self.task(encoding.TASK_KIND_TRAIN, 0), self.task(encoding.TASK_KIND_EVALUATE, 1)
        diff = [i for i, (a, b) in enumerate(zip(train, evaluate)) if a != b]
        self.assertEqual(len(train), len(evaluate))
        self.assertEqual(len(diff), 2)   # the kind byte and the last byte of model_round

    def test_evaluation_statement(self):
        self.check("Evaluation statement", encoding.evaluation_statement(
            federation_id="demo-federation", round=1, nonce=NONCE, client_id="alice",
            model_digest=self.update_digest, loss=0.25, num_examples=200, metrics={"mae": 0.5, "accuracy": 0.875},
            scheme="ML-DSA-44", key_id=ALICE_KEY_ID))

    def test_partial_aggregate_statement(self):
        self.check("Partial-aggregate statement", encoding.partial_aggregate_statement(
            federation_id="demo-root", round=1, nonce=bytes(range(0x20, 0x40)), base_model_digest=self.base_digest,
            aggregator_id="edge-hub", key_id=COORD_KEY_ID, scheme="ML-DSA-44", aggregate_digest=self.update_digest,
            num_examples=600, child_federation_id="demo-federation", child_round=1, child_nonce=NONCE,
            aggregator_ledger_head=b"\x5a" * 64,
            receipt=[encoding.PartialReceipt("alice", self.update_digest, 600, ALICE_KEY_ID, "ML-DSA-44",
                                             bytes.fromhex(vector("update")["signature"]))]))


class TestModelStatement(unittest.TestCase):
    """No published vector; checked against PROTOCOL.md's layout: receipt sorted by client id bytes, version 2."""

    def test_layout(self):
        d = bytes(range(64))
        s = encoding.model_statement(
            federation_id="f", model_round=3, model_digest=d, parent_model_digest=b"", ledger_head=b"\0" * 64,
            strategy_state_digest=b"", scheme="Ed25519", key_id="k",
            receipt=[encoding.Receipt("bob", b"\1" * 64, 7), encoding.Receipt("alice", b"\2" * 64, 5)])
        r = Reader(s)
        self.assertEqual((r.string(), r.u16(), r.string(), r.u64(), r.bytes_(), r.bytes_(), r.bytes_(), r.bytes_()),
                         ("pqfl.model-statement", 2, "f", 3, d, b"", b"\0" * 64, b""))
        self.assertEqual(r.u32(), 2)
        self.assertEqual([(r.string(), r.bytes_(), r.u64()) for _ in range(2)],
                         [("alice", b"\2" * 64, 5), ("bob", b"\1" * 64, 7)])
        self.assertEqual((r.string(), r.string()), ("Ed25519", "k"))
        r.expect_end()

    def test_sorting_is_by_utf8_bytes(self):
        s = encoding.model_statement(
            federation_id="f", model_round=1, model_digest=b"", parent_model_digest=b"", ledger_head=b"",
            strategy_state_digest=b"", scheme="s", key_id="k",
            receipt=[encoding.Receipt("\u00e9", b"", 1), encoding.Receipt("Z", b"", 1), encoding.Receipt("a", b"", 1)])
        at = {c: s.index(b"\x00\x00\x00" + bytes([len(c.encode())]) + c.encode() + b"\x00\x00\x00\x00")
              for c in ("Z", "a", "\u00e9")}
        self.assertLess(at["Z"], at["a"])
        self.assertLess(at["a"], at["\u00e9"])


class TestEncodingRules(unittest.TestCase):
    def test_ranges(self):
        with self.assertRaises(ValueError):
            encoding.Writer().u16(1 << 16)
        with self.assertRaises(ValueError):
            encoding.Writer().u64(-1)
        with self.assertRaises(ValueError):
            encoding.task_statement(federation_id="f", kind=0, round=1, nonce=b"", client_id="c", model_round=0,
                                    model_digest=b"", local_epochs=1, batch_size=1, learning_rate=0.1,
                                    proximal_mu=0, optimizer="sgd", deadline_unix_ms=0, scheme="s", key_id="k")

    def test_metrics_rules(self):
        kept, dropped = encoding.clean_metrics({"loss": 1.0, "Bad Name": 2.0, "nan": float("nan"), "big": 1e13})
        self.assertEqual(kept, {"loss": 1.0})
        self.assertEqual(len(dropped), 3)
        kept, dropped = encoding.clean_metrics({f"m{i:02d}": float(i) for i in range(40)})
        self.assertEqual((len(kept), len(dropped)), (32, 8))

    def test_strings_are_utf8_with_length(self):
        self.assertEqual(encoding.Writer().string("\u00e9").bytes(), b"\x00\x00\x00\x02\xc3\xa9")


if __name__ == "__main__":
    unittest.main()
