"""pyzmq's zmq.sugar, for code that imports its modules by name (zmq.sugar.context,
zmq.sugar.socket, ...). In zmqx these are the same classes as zmqx.Context, zmqx.Socket,
and so on; nothing here is a second implementation."""

from .. import constants, error  # noqa: F401
from ..constants import *  # noqa: F401,F403
from ..context import Context
from ..error import *  # noqa: F401,F403
from ..poll import Poller, select
from ..socket import Socket
from .._core.msg import Frame, Message, MessageTracker
from . import context, frame, poll, socket, stopwatch, tracker, version  # noqa: F401
from .stopwatch import Stopwatch
from .version import pyzmq_version, pyzmq_version_info, zmq_version, zmq_version_info

__all__ = ["Context", "Socket", "Poller", "select", "Frame", "Message", "MessageTracker",
           "Stopwatch", "pyzmq_version", "pyzmq_version_info", "zmq_version",
           "zmq_version_info"]
