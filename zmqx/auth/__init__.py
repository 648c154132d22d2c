"""ZAP authentication (RFC 27) as pyzmq's zmq.auth: Authenticator with its threaded and
asyncio drivers, and CURVE certificate files."""

from .base import CURVE_ALLOW_ANY, Authenticator  # noqa: F401
from .certs import create_certificates, load_certificate, load_certificates  # noqa: F401
from .thread import ThreadAuthenticator  # noqa: F401

__all__ = [
    "Authenticator", "ThreadAuthenticator", "AsyncioAuthenticator", "CURVE_ALLOW_ANY",
    "create_certificates", "load_certificate", "load_certificates",
]


def __getattr__(name: str):
    # zmqx.auth.AsyncioAuthenticator without importing asyncio for everyone else
    if name == "AsyncioAuthenticator":
        from .asyncio import AsyncioAuthenticator

        return AsyncioAuthenticator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
