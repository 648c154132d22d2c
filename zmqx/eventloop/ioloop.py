"""tornado's IOLoop under the names pyzmq gave it (zmq.eventloop.ioloop).

Since tornado 5 any IOLoop runs on asyncio and zmqx sockets need no special loop, so this
only re-exports tornado.ioloop; ZMQIOLoop and install() stay for programs that still use
them (pyzmq deprecated them in version 17)."""

import warnings

from tornado.ioloop import *  # noqa: F401,F403
from tornado.ioloop import IOLoop, PeriodicCallback  # noqa: F401

ZMQIOLoop = IOLoop


def _deprecated(what):
    warnings.warn(
        f"{what} is deprecated: zmqx works with tornado's own IOLoop (and asyncio) as is",
        DeprecationWarning,
        stacklevel=3,
    )


def install():
    """Deprecated no-op: there is no special loop to install."""
    _deprecated("zmq.eventloop.ioloop.install()")
