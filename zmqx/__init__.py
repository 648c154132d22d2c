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
    DraftFDWarning,
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
from .socket import Socket, SyncSocket  # noqa: F401
from .context import Context, SyncContext  # noqa: F401
from .poll import Poller, select, zmq_poll  # noqa: F401

# the libzmq release whose behaviour zmqx matches
_LIBZMQ_VERSION = (4, 3, 5)


def zmq_version_info() -> tuple[int, int, int]:
    return _LIBZMQ_VERSION


def zmq_version() -> str:
    return "%i.%i.%i" % _LIBZMQ_VERSION


def pyzmq_version_info() -> tuple[int, ...]:
    return tuple(int(x) for x in __version__.split("."))


def pyzmq_version() -> str:
    return __version__


def has(capability: str) -> bool:
    """Capabilities of this build, like zmq.has()."""
    return capability in ("ipc", "draft", "curve")


def get_includes() -> list[str]:
    """Directories for Cython code that builds against zmqx: the one holding the package
    (so ``cimport zmqx._core.msg`` resolves) and zmqx/_core (its .pxd and C headers, which
    source checkouts and the sdist carry; wheels do not). zmqx has no libzmq headers: the
    engine is its own."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.dirname(here), os.path.join(here, "_core")]


def get_library_dirs() -> list[str]:
    """Where zmqx's compiled modules are (pyzmq: its bundled libzmq). There is no separate
    C library to link: the engine is these extension modules."""
    import os

    return [os.path.dirname(os.path.abspath(__file__))]
from ._core.proxy import proxy, proxy_steerable  # noqa: F401,E402
from ._core.curve import curve_keypair, curve_public  # noqa: F401,E402


def device(device_type: int, frontend: Socket, backend: Socket) -> None:
    """The old zmq_device(): every device type is a proxy now."""
    return proxy(frontend, backend)


# the draft API (CLIENT/SERVER, RADIO/DISH, ... as libzmq builds it) is always built
DRAFT_API = PYZMQ_DRAFT_API = True
# the longest ipc:// path the platform's sockaddr_un holds (sun_path less its NUL)
IPC_PATH_MAX_LEN = 103 if __import__("sys").platform == "darwin" else 107
__revision__ = ""

from ._core.msg import _FINISHED_TRACKER  # noqa: E402,F401  (the tracker of copied sends)

# pyzmq's module layout, for programs that import these names
from . import backend, sugar  # noqa: F401,E402
from .sugar.stopwatch import Stopwatch  # noqa: F401,E402

__all__ = [
    "Again", "COPY_THRESHOLD", "Context", "ContextTerminated", "DRAFT_API", "DraftFDWarning",
    "Frame", "IPC_PATH_MAX_LEN", "InterruptedSystemCall", "Message", "MessageTracker",
    "NotDone", "PYZMQ_DRAFT_API", "Poller", "Socket", "Stopwatch", "ZMQBaseError",
    "ZMQBindError", "ZMQError", "ZMQVersionError", "device", "get_includes",
    "get_library_dirs", "has", "proxy",
    "proxy_steerable", "pyzmq_version", "pyzmq_version_info", "select", "strerror",
    "zmq_errno", "zmq_poll", "zmq_version", "zmq_version_info",
    "curve_keypair", "curve_public", "SyncContext", "SyncSocket", "_FINISHED_TRACKER",
]
__all__ += [_n for _n in constants.__all__ if _n not in __all__]
