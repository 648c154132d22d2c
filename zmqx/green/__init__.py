"""gevent-cooperative zmqx (pyzmq's zmq.green): ``import zmqx.green as zmq``.

Everything zmqx offers, with Context, Socket, Poller, select and device replaced by
versions whose blocking calls block only the calling greenlet. Needs gevent
(``pip install zmqx[gevent]``)."""

try:
    import gevent  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("zmqx.green needs gevent: pip install 'zmqx[gevent]'") from e

import zmqx as _zmqx
from zmqx import *  # noqa: F401,F403

from .core import _Context, _Socket
from .device import device
from .poll import _Poller, select

Context = _Context
Socket = _Socket
Poller = _Poller

__all__ = list(_zmqx.__all__)
