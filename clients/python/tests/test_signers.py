"""Signer backends: Ed25519 for real (python3-cryptography); the ML-DSA backends' calls against stand-ins shaped
like their documented APIs; the published ML-DSA vectors for real only when a real ML-DSA package is installed."""
import sys
import types
import unittest
from unittest import mock

from support import WORKED, vector, vectors
from pqfl_client import keys, signers

REAL = signers.available_backends()
NO_ML_DSA = {"oqs": None, "dilithium_py": None, "dilithium_py.ml_dsa": None}


def ed25519_pkcs8():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    sk = Ed25519PrivateKey.generate()
    return sk.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())


class TestEd25519(unittest.TestCase):
    def test_sign_and_verify(self):
        key = keys.parse_pkcs8(ed25519_pkcs8())
        s = signers.make_signer(key)
        self.assertEqual((s.scheme, s.backend, len(s.key_id)), ("Ed25519", "cryptography", 32))
        v = signers.make_verifier(s.public)
        sig = s.sign(b"statement")
        self.assertEqual(len(sig), 64)
        self.assertTrue(v.verify(b"statement", sig))
        self.assertFalse(v.verify(b"statemenT", sig))
        self.assertFalse(v.verify(b"statement", sig[:-1] + bytes([sig[-1] ^ 1])))
        self.assertFalse(v.verify(b"statement", b"short"))

    def test_wrong_public_key_refused(self):
        key = keys.parse_pkcs8(ed25519_pkcs8())
        other = signers.make_signer(keys.parse_pkcs8(ed25519_pkcs8())).public
        with self.assertRaises(keys.KeyFormatError):
            signers.make_signer(keys.PrivateKey(key.scheme, key.seed, None, other))


class TestNoMlDsaBackend(unittest.TestCase):
    def test_refuses_with_what_to_install(self):
        k = keys.read_private_key(WORKED / "client.key")
        with mock.patch.dict(sys.modules, NO_ML_DSA):
            with self.assertRaises(signers.NoBackendError) as e:
                signers.make_signer(k)
            self.assertIn("pip install dilithium-py", str(e.exception))
            self.assertIn("liboqs-python", str(e.exception))
            with self.assertRaisesRegex(signers.NoBackendError, "cannot verify ML-DSA-44"):
                signers.make_verifier(k.public)
            with self.assertRaisesRegex(signers.NoBackendError, "oqs is not installed"):
                signers.make_signer(k, "oqs")


def fake_dilithium_py(calls):
    """A stand-in with dilithium-py 1.3's API; 'signatures' are b'sig:' + sk[:4] + message."""
    class Params:
        def __init__(self, name):
            self.name = name

        def key_derive(self, seed):
            calls.append(("key_derive", seed))
            return self.pk, self.sk

        def pk_from_sk(self, sk):
            calls.append(("pk_from_sk", sk))
            return self.pk

        def sign(self, sk, m, ctx=b"", deterministic=False):
            calls.append(("sign", sk, m, ctx, deterministic))
            return b"sig:" + sk[:4] + m

        def verify(self, pk, m, sig, ctx=b""):
            calls.append(("verify", pk, m, sig, ctx))
            return pk == self.pk and sig == b"sig:" + self.sk[:4] + m
    ml = types.ModuleType("dilithium_py.ml_dsa")
    for n in ("ML_DSA_44", "ML_DSA_65", "ML_DSA_87"):
        setattr(ml, n, Params(n))
    pkg = types.ModuleType("dilithium_py")
    pkg.ml_dsa = ml
    return {"dilithium_py": pkg, "dilithium_py.ml_dsa": ml, "oqs": None}


def fake_oqs(calls):
    """A stand-in with liboqs-python's Signature API."""
    class Signature:
        def __init__(self, alg_name, secret_key=None):
            calls.append(("init", alg_name, secret_key))
            self.sk = secret_key

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def sign(self, message):
            calls.append(("sign", message))
            return b"oqs:" + self.sk[:4] + message

        def verify(self, message, signature, public_key):
            calls.append(("verify", message, signature, public_key))
            return signature.startswith(b"oqs:") and signature[8:] == message
    m = types.ModuleType("oqs")
    m.Signature = Signature
    return {"oqs": m, "dilithium_py": None, "dilithium_py.ml_dsa": None}


class TestMlDsaBackendCalls(unittest.TestCase):
    def setUp(self):
        self.key = keys.read_private_key(WORKED / "client.key")

    def test_dilithium_py(self):
        calls = []
        mods = fake_dilithium_py(calls)
        p = mods["dilithium_py.ml_dsa"].ML_DSA_44
        p.pk, p.sk = self.key.public.raw, self.key.expanded
        with mock.patch.dict(sys.modules, mods):
            s = signers.make_signer(self.key)          # auto: oqs absent, dilithium-py present
            self.assertEqual(s.backend, "dilithium-py")
            self.assertEqual(calls[0], ("key_derive", self.key.seed))
            sig = s.sign(b"m")
            self.assertIn(("sign", self.key.expanded, b"m", b"", True), calls)   # pure, empty context
            v = signers.make_verifier(self.key.public)
            self.assertTrue(v.verify(b"m", sig))
            self.assertIn(("verify", self.key.public.raw, b"m", sig, b""), calls)
            # a seed whose derived key is not the file's expanded key
            p.sk = bytes(len(p.sk))
            with self.assertRaisesRegex(keys.KeyFormatError, "not the one its seed derives"):
                signers.make_signer(self.key)

    def test_oqs(self):
        calls = []
        with mock.patch.dict(sys.modules, fake_oqs(calls)):
            s = signers.make_signer(self.key, "oqs")
            self.assertEqual(s.backend, "liboqs-python")
            self.assertIn(("init", "ML-DSA-44", self.key.expanded), calls)
            sig = s.sign(b"m")
            self.assertTrue(signers.make_verifier(self.key.public, "oqs").verify(b"m", sig))
            self.assertIn(("verify", b"m", sig, self.key.public.raw), calls)
            seed_only = keys.PrivateKey("ML-DSA-44", self.key.seed, None, self.key.public)
            with self.assertRaisesRegex(keys.KeyFormatError, "only its seed"):
                signers.make_signer(seed_only, "oqs")


@unittest.skipUnless(REAL["oqs"] or REAL["dilithium-py"],
                     "no ML-DSA package installed (pip install dilithium-py or liboqs-python): the published "
                     "vectors' ML-DSA signatures were NOT verified")
class TestMlDsaVectorsForReal(unittest.TestCase):
    def test_vectors(self):
        for v in vectors():
            with self.subTest(vector=v["name"]):
                pub = keys.PublicKey.from_raw(v["scheme"], bytes.fromhex(v["publicKeyRaw"]))
                ok = signers.make_verifier(pub).verify(bytes.fromhex(v["statement"]), bytes.fromhex(v["signature"]))
                self.assertEqual(ok, v["valid"] in (True, "true", "True"))

    @unittest.skipUnless(REAL["dilithium-py"], "deterministic signing is dilithium-py's (liboqs signs hedged)")
    def test_worked_example_key_signs_deterministically_like_pqfl(self):
        s = signers.make_signer(keys.read_private_key(WORKED / "client.key"), "dilithium-py")
        statement = bytes.fromhex(vector("update")["statement"])
        self.assertEqual(s.sign(statement).hex(), vector("update")["signature"])


if __name__ == "__main__":
    unittest.main()
