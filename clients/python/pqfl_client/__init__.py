"""pqfl's Python client: joins a pqfl federation over gRPC, trains with a NumPy-style hook, signs its updates.

    from pqfl_client import Client, TrainConfig, Delta
"""
from .training import Delta, TrainConfig, FashionMnistMLP  # noqa: F401

__version__ = "0.1.0"


def __getattr__(name):  # the client imports grpc; keep `import pqfl_client` light for the codec and tests
    if name in ("Client", "ClientError"):
        from . import client
        return getattr(client, name)
    raise AttributeError(name)
