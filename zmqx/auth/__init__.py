"""ZAP authentication (RFC 27) as pyzmq's zmq.auth: Authenticator and its threaded and
asyncio drivers."""

from .base import CURVE_ALLOW_ANY, Authenticator  # noqa: F401
from .thread import ThreadAuthenticator  # noqa: F401


def __getattr__(name: str):
    # zmqx.auth.AsyncioAuthenticator without importing asyncio for everyone else
    if name == "AsyncioAuthenticator":
        from .asyncio import AsyncioAuthenticator

        return AsyncioAuthenticator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
