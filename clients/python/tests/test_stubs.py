"""Stub generation from proto/src/main/protobuf/pqfl/v1/federation.proto with grpc_tools."""
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support
from pqfl_client import _stubs


class TestStubs(unittest.TestCase):
    def test_generate_and_import_in_a_fresh_interpreter(self):
        with tempfile.TemporaryDirectory() as d:
            out = _stubs.generate(Path(d) / "gen")
            self.assertTrue((out / "pqfl/v1/federation_pb2_grpc.py").exists())
            code = ("from pqfl.v1 import federation_pb2 as p, federation_pb2_grpc as g\n"
                    "s = p.DESCRIPTOR.services_by_name['Federation']\n"
                    "print(' '.join(m.name for m in s.methods))\n"
                    "assert hasattr(g, 'FederationStub')\n"
                    "assert p.TaskHeader.DESCRIPTOR.fields_by_name['kind'].number == 11\n")
            r = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            for rpc in ("GetChallenge", "Hello", "GetTask", "SubmitUpdate", "SubmitEvaluation", "GetStatus"):
                self.assertIn(rpc, r.stdout.split())

    def test_proto_is_the_repositorys(self):
        self.assertEqual(_stubs.proto_dir().resolve(), (support.REPO / "proto/src/main/protobuf").resolve())


if __name__ == "__main__":
    unittest.main()
