"""zmqx: ZeroMQ for Python with a Cython engine that speaks ZMTP 3.1.

Drop-in for pyzmq: ``import zmqx as zmq``."""

from ._version import __version__  # noqa: F401  (the one place the version is written)

from . import constants
from .constants import *  # noqa: F401,F403  (flat names, as pyzmq exports them)
from .constants import (  # noqa: F401  (named too, so type checkers see the enums)
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    PollEvent,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from .error import (  # noqa: F401
    Again,
    ContextTerminated,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
    zmq_errno,
)
from ._core.msg import COPY_THRESHOLD, Frame, Message, MessageTracker  # noqa: F401
from .socket import Socket  # noqa: F401
from .context import Context  # noqa: F401
from .poll import Poller, select, zmq_poll  # noqa: F401

# the libzmq release whose behaviour zmqx matches
_LIBZMQ_VERSION = (4, 3, 5)


def zmq_version_info():
    return _LIBZMQ_VERSION


def zmq_version():
    return "%i.%i.%i" % _LIBZMQ_VERSION


def pyzmq_version_info():
    return tuple(int(x) for x in __version__.split("."))


def pyzmq_version():
    return __version__


def has(capability):
    """Capabilities of this build, like zmq.has()."""
    return capability in ("ipc",) if capability != "draft" else False


def get_includes():
    import os

    return [os.path.join(os.path.dirname(__file__), "_core")]
from ._core.proxy import proxy, proxy_steerable  # noqa: F401,E402
from ._core.curve import curve_keypair, curve_public  # noqa: F401,E402
