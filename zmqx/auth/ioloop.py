"""pyzmq's zmq.auth.ioloop: the tornado IOLoop authenticator, kept for old programs.

tornado (5 and later) runs on asyncio, so the asyncio authenticator already serves ZAP on
a tornado IOLoop; IOLoopAuthenticator is that class under its old name. Importing this
module is deprecated, as in pyzmq."""

import warnings
from typing import Any, Optional

import zmqx

from .asyncio import AsyncioAuthenticator

warnings.warn(
    "zmqx.auth.ioloop.IOLoopAuthenticator is deprecated: use "
    "zmqx.auth.asyncio.AsyncioAuthenticator (it runs on tornado's IOLoop too)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["IOLoopAuthenticator"]


class IOLoopAuthenticator(AsyncioAuthenticator):
    """ZAP authentication served on the running tornado IOLoop (its asyncio loop)."""

    def __init__(
        self,
        context: Optional["zmqx.Context"] = None,
        encoding: str = "utf-8",
        log: Any = None,
        io_loop: Any = None,
    ) -> None:
        if io_loop is not None:
            # the loop is whichever one start() runs in, as for AsyncioAuthenticator
            warnings.warn(
                f"{type(self).__name__}(io_loop) is deprecated and ignored",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(context=context, encoding=encoding, log=log)
