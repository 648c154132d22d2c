"""pyzmq's zmq.backend, for code that reaches for the low-level classes by this name.
zmqx has one backend, its Cython core (zmqx._core); these are its classes."""

from .._core.context import Context
from .._core.msg import Frame, Message, MessageTracker
from .._core.poll import zmq_poll
from .._core.proxy import proxy, proxy_steerable
from .._core.socket import Socket
from ..error import strerror, zmq_errno


def has(capability):
    import zmqx

    return zmqx.has(capability)


def zmq_version_info():
    import zmqx

    return zmqx.zmq_version_info()


def device(device_type, frontend, backend):
    return proxy(frontend, backend)


monitored_queue = None   # pyzmq's backends may lack it too; zmqx.devices has the relay

__all__ = ["Context", "Socket", "Frame", "Message", "MessageTracker", "zmq_poll", "proxy",
           "proxy_steerable", "device", "strerror", "zmq_errno", "has", "zmq_version_info",
           "monitored_queue"]
