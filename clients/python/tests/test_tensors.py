"""The tensor/manifest codec and the payload digest, against PROTOCOL.md's worked example."""
import hashlib
import unittest

import numpy as np

from support import PROTOCOL_MD, WORKED, doc_plain_hex_after, inline_hex
from pqfl_client import tensors

MANIFEST = tensors.Manifest("example", (tensors.TensorSpec("w", (2, 2)), tensors.TensorSpec("b", (2,))))
UPDATE = {"w": np.array([[0.5, -1.25], [2.0, 0.125]], np.float32), "b": np.array([1.0, -0.5], np.float32)}


def expected(key: str) -> bytes:
    props = dict(line.split("=", 1) for line in (WORKED / "expected.properties").read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    return bytes.fromhex(props[key])


class TestCodec(unittest.TestCase):
    def test_manifest_encoding_is_protocol_md(self):
        self.assertEqual(MANIFEST.encode().hex(), doc_plain_hex_after("Manifest encoding:").hex())
        self.assertEqual(MANIFEST.encode(), expected("manifest"))

    def test_wire_bytes_are_float32_little_endian_row_major(self):
        data = tensors.wire_bytes(MANIFEST, UPDATE)
        self.assertEqual(data, inline_hex("Update wire bytes"))
        self.assertEqual(data.hex(), "0000003f0000a0bf000000400000003e0000803f000000bf")

    def test_digests(self):
        data = tensors.wire_bytes(MANIFEST, UPDATE)
        self.assertEqual(tensors.payload_digest(MANIFEST, data), doc_plain_hex_after("update_digest = SHA-512"))
        self.assertEqual(tensors.payload_digest(MANIFEST, data), expected("updateDigest"))
        zeros = tensors.wire_bytes(MANIFEST, {"w": np.zeros((2, 2)), "b": np.zeros(2)})
        self.assertEqual(tensors.payload_digest(MANIFEST, zeros), doc_plain_hex_after("base_model_digest (same"))
        # SHA-512 of manifest || bytes, fed in any chunking
        d = tensors.Digester(MANIFEST)
        for i in range(len(data)):
            d.update(data[i:i + 1])
        self.assertEqual(d.digest(), hashlib.sha512(MANIFEST.encode() + data).digest())

    def test_same_bytes_under_another_shape_digest_differently(self):
        data = tensors.wire_bytes(MANIFEST, UPDATE)
        other = tensors.Manifest("example", (tensors.TensorSpec("w", (4,)), tensors.TensorSpec("b", (2,))))
        self.assertNotEqual(tensors.payload_digest(MANIFEST, data), tensors.payload_digest(other, data))

    def test_round_trip_is_bit_exact(self):
        rng = np.random.default_rng(1)
        m = tensors.Manifest("mlp", (tensors.TensorSpec("a", (3, 4, 5)), tensors.TensorSpec("e", (0,)),
                                     tensors.TensorSpec("s", ())))
        w = {"a": rng.standard_normal((3, 4, 5)).astype(np.float32), "e": np.zeros(0, np.float32),
             "s": np.float32(-0.0)}
        w["a"][0, 0, 0] = np.float32(1e-45)   # a subnormal survives
        back = tensors.decode(m, tensors.wire_bytes(m, w))
        for k in w:
            self.assertEqual(np.asarray(w[k]).tobytes(), back[k].tobytes())
        # a transposed (non-contiguous) array is written in row-major order of its logical shape
        t = np.arange(6, dtype=np.float32).reshape(3, 2).T
        m2 = tensors.Manifest("x", (tensors.TensorSpec("t", (2, 3)),))
        self.assertEqual(tensors.wire_bytes(m2, {"t": t}), np.array([0, 2, 4, 1, 3, 5], "<f4").tobytes())

    def test_refusals(self):
        with self.assertRaisesRegex(ValueError, "shape"):
            tensors.wire_bytes(MANIFEST, {"w": np.zeros((2, 3)), "b": np.zeros(2)})
        with self.assertRaisesRegex(ValueError, "missing"):
            tensors.wire_bytes(MANIFEST, {"w": np.zeros((2, 2))})
        with self.assertRaisesRegex(ValueError, "NaN"):
            tensors.wire_bytes(MANIFEST, {"w": np.full((2, 2), np.nan), "b": np.zeros(2)})
        with self.assertRaisesRegex(ValueError, "bytes"):
            tensors.decode(MANIFEST, b"\0" * 20)
        with self.assertRaisesRegex(ValueError, "float32 only"):
            tensors.Manifest("x", (tensors.TensorSpec("h", (2,), "float16"),)).check()

    def test_manifest_difference_named(self):
        other = tensors.Manifest("example", (tensors.TensorSpec("w", (2, 2)), tensors.TensorSpec("b", (3,))))
        self.assertIn("'b'", MANIFEST.describe_difference(other))
        self.assertIsNone(MANIFEST.describe_difference(MANIFEST))


if __name__ == "__main__":
    unittest.main()
