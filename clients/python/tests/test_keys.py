"""Key files: SubjectPublicKeyInfo, PKCS#8 (the three ML-DSA private key forms), key ids."""
import base64
import tempfile
import unittest
from pathlib import Path

from support import WORKED, vector
from pqfl_client import keys


def pem(label: str, der: bytes) -> str:
    b = base64.b64encode(der).decode()
    return f"-----BEGIN {label}-----\n" + "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + \
        f"\n-----END {label}-----\n"


class TestKeys(unittest.TestCase):
    def test_worked_example_public_keys_and_ids(self):
        alice = keys.read_public_key(WORKED / "client.pub")
        self.assertEqual((alice.scheme, alice.key_id), ("ML-DSA-44", "80e1b39740c8be95677ec2ad718010a3"))
        self.assertEqual(alice.raw.hex(), vector("update")["publicKeyRaw"])
        coord = keys.read_public_key(WORKED / "coordinator.pub")
        self.assertEqual(coord.key_id, "1b8a2ce0c2d07b7c555b5ff232d903d1")
        self.assertEqual(coord.raw.hex(), vector("task")["publicKeyRaw"])

    def test_spki_built_from_raw_is_the_one_pqfl_writes(self):
        alice = keys.read_public_key(WORKED / "client.pub")
        self.assertEqual(keys.PublicKey.from_raw("ML-DSA-44", alice.raw).spki, alice.spki)
        # RFC 8410, section 10.1: an Ed25519 SubjectPublicKeyInfo
        der = base64.b64decode("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
        ed = keys.PublicKey.from_spki(der)
        self.assertEqual(ed.scheme, "Ed25519")
        self.assertEqual(keys.PublicKey.from_raw("Ed25519", ed.raw).spki, der)

    def test_ml_dsa_private_key_forms(self):
        k = keys.read_private_key(WORKED / "client.key")   # Bouncy Castle's "both": seed and expanded key
        self.assertEqual(k.scheme, "ML-DSA-44")
        self.assertEqual((len(k.seed), len(k.expanded)), (32, 2560))
        self.assertEqual(k.public.key_id, "80e1b39740c8be95677ec2ad718010a3")   # client.pub beside it
        alg = bytes.fromhex("300b0609608648016503040311")
        for inner, has in ((bytes([0x80, 32]) + k.seed, "seed"),
                           (bytes([0x04, 0x82, 0x0a, 0x00]) + k.expanded, "expanded")):
            octet = keys._der_tlv(0x04, inner)
            der = keys._der_tlv(0x30, bytes.fromhex("020100") + alg + octet)
            parsed = keys.parse_pkcs8(der)
            self.assertEqual(parsed.seed if has == "seed" else parsed.expanded, getattr(k, has))
            self.assertIsNone(parsed.expanded if has == "seed" else parsed.seed)

    def test_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "bad.pub"
            p.write_bytes(b"\x30\x82binary")
            with self.assertRaisesRegex(keys.KeyFormatError, "bad.pub: not a PEM file"):
                keys.read_public_key(p)
            p.write_text(pem("PRIVATE KEY", b"\x30\x00"))
            with self.assertRaisesRegex(keys.KeyFormatError, "holds a PRIVATE KEY; expected PUBLIC KEY"):
                keys.read_public_key(p)
            e = Path(d) / "enc.key"
            e.write_text(pem("ENCRYPTED PRIVATE KEY", b"\x30\x00"))
            with self.assertRaisesRegex(keys.KeyFormatError, "encrypted"):
                keys.read_private_key(e)
            # an RSA key: an algorithm this client does not support
            rsa = bytes.fromhex("300d06092a864886f70d0101010500") + keys._der_tlv(0x03, b"\x00\x01")
            p.write_text(pem("PUBLIC KEY", keys._der_tlv(0x30, rsa)))
            with self.assertRaisesRegex(keys.KeyFormatError, "1.2.840.113549.1.1.1 is not one this client"):
                keys.read_public_key(p)

    def test_mismatched_pub_beside_key_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "x.key").write_text((WORKED / "client.key").read_text())
            (Path(d) / "x.pub").write_text((WORKED / "coordinator.pub").read_text())
            k = keys.read_private_key(Path(d) / "x.key")   # both ML-DSA-44: only signing can tell them apart
            self.assertEqual(k.public.key_id, "1b8a2ce0c2d07b7c555b5ff232d903d1")


if __name__ == "__main__":
    unittest.main()
